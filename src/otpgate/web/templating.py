"""Rendering the portal's pages: Jinja2 templates, one style sheet, one CSP.

Templates live in ``templates/`` next to this module and are autoescaped, so
every value a page shows (user names, messages, URLs) is escaped unless a
template says otherwise; only this module's own style sheet and the QR code
the server draws are marked safe.  Pages load nothing and run no inline
script: ``default-src 'none'``, the hash of the one style sheet, and the one
script file the passkey buttons need (``static/passkeys.js``, served by the
gate itself: ``script-src 'self'``, and ``connect-src 'self'`` for its one
request).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .._limits import MAX_USER
from .i18n import CATALOGUES
from .labels import Words

__all__ = ["CSP", "CSS", "render"]

# Input borders: 4.2:1 on the light card, 4.3:1 on the dark one (WCAG's 3:1
# for the boundary of a control); the card's own border is decoration.
CSS: Final = """
:root{color-scheme:light dark;--fg:#1d2330;--bg:#eef1f6;--card:#fff;--muted:#5b6473;
--accent:#1f5fbf;--accent-fg:#fff;--err-bg:#fdecec;--err:#a0161b;--ok-bg:#e8f5ec;--ok:#17663a;
--border:#c9d0db;--field:#737d8c}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--bg:#12151b;--card:#1c212b;
--muted:#a4adbb;--accent:#6ea8ff;--accent-fg:#0b1220;--err-bg:#3a1618;--err:#ffb3b6;
--ok-bg:#143021;--ok:#9be0b4;--border:#3a4252;--field:#7a8599}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);
color:var(--fg)}
main{width:100%;max-width:26rem;margin:1rem;padding:2rem;background:var(--card);
border:1px solid var(--border);border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.08)}
main.wide{max-width:34rem}
h1{margin:0 0 .25rem;font-size:1.5rem}
h2{margin:2rem 0 .25rem;font-size:1.15rem}
.sub{margin:0 0 1.5rem;color:var(--muted)}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input,select{width:100%;padding:.6rem .75rem;font:inherit;color:inherit;background:transparent;
border:1px solid var(--field);border-radius:8px}
input:focus,select:focus{outline:3px solid var(--accent);outline-offset:1px}
select option{color:var(--fg);background:var(--card)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
form.inline{display:flex;gap:.4rem;align-items:center}
form.inline input{padding:.3rem .5rem;min-width:4rem;flex:1 1 6rem}
form.inline button{margin:0;width:auto;padding:.3rem .6rem;white-space:nowrap}
input[aria-invalid=true]{border:2px solid var(--err)}
.help{margin:.25rem 0 0;font-size:.875rem;color:var(--muted)}
.field-error{margin:.25rem 0 0;font-size:.875rem;color:var(--err);font-weight:600}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;
color:var(--accent-fg);background:var(--accent);border:2px solid transparent;border-radius:8px;
cursor:pointer}
button.secondary{color:var(--accent);background:transparent;border:2px solid var(--accent)}
button:focus{outline:3px solid var(--fg);outline-offset:2px}
button:disabled{cursor:not-allowed;opacity:.65}
.msg{padding:.75rem 1rem;border-radius:8px;margin:0 0 1rem}
.error{background:var(--err-bg);color:var(--err)}
.ok{background:var(--ok-bg);color:var(--ok)}
a{color:var(--accent)}
a:focus{outline:3px solid var(--accent);outline-offset:1px}
code{font-size:.95em;overflow-wrap:anywhere}
td,dd{overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:fit-content(45%) minmax(0,1fr);gap:.3rem 1rem;
margin:0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
.pair{display:flex;flex-wrap:wrap;gap:0 .75rem}
.pair form{flex:1 1 9rem}
.pair button{margin-top:.5rem}
.secret{font-family:ui-monospace,monospace;word-break:break-all;font-size:.9rem;
padding:.5rem .75rem;border:1px solid var(--field);border-radius:8px;margin:.25rem 0 0}
.qr{display:block;margin:1rem auto;width:14rem;max-width:100%;height:auto}
ol.codes{font-family:ui-monospace,monospace;font-size:1.05rem;columns:2 13rem;padding-left:2.5rem}
ol.codes li{white-space:nowrap}
nav.links{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;margin:1rem 0 0}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--border)}
@media (max-width:40rem){
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards tr{display:block;border-bottom:1px solid var(--border);padding:.5rem 0}
table.cards td{display:block;border:0;padding:.1rem 0}
table.cards td:empty{display:none}
table.cards td:first-child{font-size:1.05rem;font-weight:600}
table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}}
"""

_CSS_HASH: Final = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

# No form-action: Chrome applies it to the redirect after a login, which may
# leave the site.
CSP: Final = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_ENV: Final = Environment(
    loader=PackageLoader("otpgate.web", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,  # a misspelt value is an error in tests, not an empty field
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
# Limits shared with the request parsing: one definition (otpgate._limits).
_ENV.globals["max_user"] = MAX_USER


def _translator(lang: str) -> Callable[..., Markup]:
    """``_(text, **values)`` for templates: the translation, escaped, values escaped in."""
    catalogue = CATALOGUES.get(lang, {})

    def _(text: str, **values: object) -> Markup:
        return Markup.escape(catalogue.get(text, text)).format(**values)

    return _


def strong(text: str) -> Markup:
    """``<strong>text</strong>``, escaped, for a value inside a translated sentence."""
    return Markup("<strong>{}</strong>").format(text)


def render(name: str, *, lang: str = "en", site: str = "otpgate", **context: Any) -> str:
    """Render ``templates/<name>`` in ``lang``."""
    template = _ENV.get_template(name)
    return template.render(
        _=_translator(lang),
        words=Words(lang),
        strong=strong,
        lang=lang,
        site=site,
        css=Markup(CSS),  # noqa: S704 -- this module's constant
        **context,
    )
