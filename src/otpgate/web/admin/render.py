"""Rendering the admin pages: the portal's templates, style sheet and languages, plus a little.

The admin templates extend the portal's macros and share its style sheet; a
second, small style sheet lays out tables and filters.  Both are inline and
named by hash in the CSP, so the admin pages load nothing and run no script
(with passkeys on, the step-up forms load static/passkeys.js, ``script-src 'self'``).
German texts come from the portal's catalogue and this package's own.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..i18n import CATALOGUES
from ..labels import Words
from ..templating import CSS
from ._catalog_de import ADMIN_DE

__all__ = ["ADMIN_CSP", "ADMIN_CSP_SCRIPT", "ADMIN_CSS", "render", "translator"]

# Wide pages, tables that become cards on a phone, inline buttons.  Colours
# are the portal's variables, so light and dark come for free.
ADMIN_CSS: Final = """
body.admin{align-items:flex-start}
main.admin{max-width:72rem;padding:1.25rem 1.5rem}
nav.top{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1.25rem;margin:0 0 1rem;
padding:0 0 .75rem;border-bottom:1px solid var(--border)}
nav.top .who{margin-left:auto;color:var(--muted);font-size:.9rem}
nav.top a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
nav.top form{display:inline;margin:0}
button.link{width:auto;margin:0;padding:0;font-weight:400;font-size:inherit;color:var(--accent);
background:none;border:0;text-decoration:underline}
.skip{position:absolute;left:-100vw;top:.5rem}
.skip:focus{left:.5rem;padding:.5rem .75rem;background:var(--card);z-index:1}
#content:focus{outline:none}
form.filters{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.5rem 1rem;margin:0 0 1rem}
form.filters label{margin:0 0 .25rem;font-weight:600;font-size:.9rem}
form.filters input,form.filters select{width:auto;min-width:9rem;height:2.75rem}
form.filters button{width:auto;margin:0;padding:0 1.1rem;height:2.75rem}
select{max-width:100%;padding:.6rem .5rem;font:inherit;color:inherit;background:var(--card);
border:1px solid var(--field);border-radius:8px}
select:focus{outline:3px solid var(--accent);outline-offset:1px}
fieldset{border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
legend{font-weight:600;font-size:.9rem;margin:0 0 .25rem;padding:0}
.check{display:inline-flex;align-items:center;gap:.35rem;margin:0;font-weight:400}
.check input{width:auto}
td.num{text-align:right}
.tag{display:inline-block;padding:0 .45rem;border-radius:6px;font-size:.8rem;font-weight:600;
border:1px solid currentColor}
.tag.bad{color:var(--err)}
.tag.ok{color:var(--ok);background:transparent}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.actions form{margin:0}
.actions button,.actions a.button{width:auto;margin:0;padding:.5rem 1rem}
a.button{display:inline-block;font-weight:600;border:2px solid var(--accent);border-radius:8px;
text-decoration:none}
button.danger{background:var(--err);color:var(--card)}
form.narrow{max-width:34rem}
.pager{display:flex;gap:1rem;margin:1rem 0 0}
.table-wrap{overflow-x:auto}
@media (max-width:40rem){main.admin{margin:0;border-radius:0;padding:1rem}
table.cards td.num{text-align:left}}
"""


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


ADMIN_CSP: Final = (
    f"default-src 'none'; style-src 'sha256-{_hash(CSS)}' 'sha256-{_hash(ADMIN_CSS)}'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
ADMIN_CSP_SCRIPT: Final = ADMIN_CSP + "; script-src 'self'; connect-src 'self'"
"""With passkeys on: the one script file a passkey step-up needs (static/passkeys.js)."""

_ENV: Final = Environment(
    loader=PackageLoader("otpgate.web", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


# The portal's catalogue (texts and labels), and the admin pages' own texts.
_DE: Final = {**CATALOGUES["de"], **ADMIN_DE}


def _lookup(lang: str, text: str) -> str:
    return _DE.get(text, text) if lang == "de" else text


def translator(lang: str) -> Callable[..., str]:
    """``_(text, **values)`` as plain text (for messages put together in code)."""

    def _(text: str, **values: object) -> str:
        out = _lookup(lang, text)
        return out.format(**values) if values else out

    return _


def _markup_translator(lang: str) -> Callable[..., Markup]:
    def _(text: str, **values: object) -> Markup:
        return Markup.escape(_lookup(lang, text)).format(**values)

    return _


def render(template: str, /, *, lang: str, site: str, **context: Any) -> str:
    """Render ``templates/admin/<template>`` in ``lang``."""
    return _ENV.get_template(f"admin/{template}").render(
        _=_markup_translator(lang),
        words=Words(lang),
        lang=lang,
        site=site,
        css=Markup(CSS),  # noqa: S704 -- the portal's constant
        admin_css=Markup(ADMIN_CSS),  # noqa: S704 -- this module's constant
        **context,
    )
