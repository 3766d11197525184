"""The HTML pages: login, logout, status, demo.  No JavaScript, no templates.

Every link and form target is relative, so the pages work unchanged whether
the gate is served at ``/`` or behind a proxy under a prefix such as
``/otpgate/``.  Every interpolated value goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Final

from .._limits import MAX_USER

__all__ = ["CSP", "demo_page", "login_page", "logout_page", "message_page"]

_CSS: Final = """
:root{color-scheme:light dark;--fg:#1d2330;--bg:#eef1f6;--card:#fff;--muted:#5b6473;
--accent:#1f5fbf;--accent-fg:#fff;--err-bg:#fdecec;--err:#a0161b;--ok-bg:#e8f5ec;--ok:#17663a;
--border:#c9d0db}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--bg:#12151b;--card:#1c212b;
--muted:#a4adbb;--accent:#6ea8ff;--accent-fg:#0b1220;--err-bg:#3a1618;--err:#ffb3b6;
--ok-bg:#143021;--ok:#9be0b4;--border:#3a4252}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);
color:var(--fg)}
main{width:100%;max-width:24rem;margin:1rem;padding:2rem;background:var(--card);
border:1px solid var(--border);border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.08)}
h1{margin:0 0 .25rem;font-size:1.5rem}
.sub{margin:0 0 1.5rem;color:var(--muted)}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{width:100%;padding:.6rem .75rem;font:inherit;color:inherit;background:transparent;
border:1px solid var(--border);border-radius:8px}
input:focus{outline:3px solid var(--accent);outline-offset:1px}
.help{margin:.25rem 0 0;font-size:.875rem;color:var(--muted)}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;
color:var(--accent-fg);background:var(--accent);border:0;border-radius:8px;cursor:pointer}
button:focus{outline:3px solid var(--fg);outline-offset:2px}
.msg{padding:.75rem 1rem;border-radius:8px;margin:0 0 1rem}
.error{background:var(--err-bg);color:var(--err)}
.ok{background:var(--ok-bg);color:var(--ok)}
a{color:var(--accent)}
code{font-size:.95em}
"""

_CSS_HASH: Final = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

# The pages need nothing but their own inline style sheet.  No form-action:
# Chrome applies it to the redirect after a login, which may leave the site.
CSP: Final = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; frame-ancestors 'none'"
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="same-origin">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _message(text: str | None, kind: str = "error") -> str:
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<p class="msg {kind}" role="{role}">{_e(text)}</p>\n'


def login_page(
    *, site: str, csrf: str, return_to: str, user: str = "", message: str | None = None
) -> str:
    """The sign-in form: user name, PIN, one-time code."""
    body = (
        f'<h1>Sign in</h1>\n<p class="sub">{_e(site)}</p>\n{_message(message)}'
        '<form method="post" action="login">\n'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">\n'
        f'<input type="hidden" name="rd" value="{_e(return_to)}">\n'
        '<label for="username">User name</label>\n'
        f'<input id="username" name="username" value="{_e(user)}" autocomplete="username" '
        f'autocapitalize="none" spellcheck="false" required maxlength="{MAX_USER}"'
        f"{'' if user else ' autofocus'}>\n"
        '<label for="pin">PIN</label>\n'
        '<input id="pin" name="pin" type="password" autocomplete="current-password" '
        f'maxlength="256"{" autofocus" if user else ""}>\n'
        '<label for="code">One-time code</label>\n'
        '<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" '
        'required maxlength="20" aria-describedby="code-help">\n'
        '<p id="code-help" class="help">The code your authenticator app or token shows '
        "now.</p>\n"
        '<button type="submit">Sign in</button>\n</form>'
    )
    return _page(f"Sign in - {site}", body)


def logout_page(*, site: str, csrf: str, user: str | None) -> str:
    """Asks before signing out: a GET must not change anything."""
    if user is None:
        body = (
            f'<h1>Sign out</h1>\n<p class="sub">{_e(site)}</p>\n'
            '<p>You are not signed in.</p>\n<p><a href="login">Sign in</a></p>'
        )
    else:
        body = (
            f'<h1>Sign out</h1>\n<p class="sub">{_e(site)}</p>\n'
            f"<p>Signed in as <strong>{_e(user)}</strong>.</p>\n"
            '<form method="post" action="logout">\n'
            f'<input type="hidden" name="csrf" value="{_e(csrf)}">\n'
            '<button type="submit">Sign out</button>\n</form>'
        )
    return _page(f"Sign out - {site}", body)


def message_page(*, site: str, heading: str, text: str, kind: str = "ok", link: str = "") -> str:
    """A short result page (signed out, form expired, status)."""
    more = f'<p><a href="{_e(link)}">Sign in</a></p>' if link else ""
    body = f'<h1>{_e(heading)}</h1>\n<p class="sub">{_e(site)}</p>\n{_message(text, kind)}{more}'
    return _page(f"{heading} - {site}", body)


def status_page(*, site: str, user: str | None, csrf: str) -> str:
    """The portal's root: who is signed in."""
    if user is None:
        return message_page(
            site=site,
            heading="Not signed in",
            text="You are not signed in.",
            kind="error",
            link="login",
        )
    body = (
        f'<h1>Signed in</h1>\n<p class="sub">{_e(site)}</p>\n'
        f'<p class="msg ok" role="status">Signed in as <strong>{_e(user)}</strong>.</p>\n'
        '<form method="post" action="logout">\n'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">\n'
        '<button type="submit">Sign out</button>\n</form>'
    )
    return _page(f"Signed in - {site}", body)


def demo_page(*, site: str, user: str, csrf: str) -> str:
    """What sits behind the gate in ``otpgate demo``."""
    body = (
        f'<h1>It works</h1>\n<p class="sub">{_e(site)} demo application</p>\n'
        f'<p class="msg ok" role="status">Hello <strong>{_e(user)}</strong>: you got here with '
        "a PIN and a one-time code.</p>\n"
        "<p>An application behind otpgate sees this name in the <code>Remote-User</code> "
        "header (nginx, Traefik, Caddy) or in <code>REMOTE_USER</code> (Apache).</p>\n"
        '<form method="post" action="../logout">\n'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">\n'
        '<button type="submit">Sign out</button>\n</form>'
    )
    return _page(f"Demo - {site}", body)
