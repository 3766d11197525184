"""The HTML pages: login, logout, status, demo and short messages, from templates.

Every link and form target is relative, so the pages work unchanged whether
the gate is served at ``/`` or behind a proxy under a prefix such as
``/otpgate/``.  The templates (``templates/``) are autoescaped; texts are
English message ids translated by :mod:`otpgate.web.i18n`.
"""

from __future__ import annotations

from ..i18n import translator
from ..templating import CSP, render

__all__ = ["CSP", "demo_page", "login_page", "logout_page", "message_page", "status_page"]


def login_page(
    *,
    site: str,
    csrf: str,
    return_to: str,
    user: str = "",
    message: str | None = None,
    lang: str = "en",
    passkeys: bool = False,
) -> str:
    """The sign-in form: user name, PIN, one-time code (or a recovery code); passkey buttons."""
    return render(
        "login.html",
        lang=lang,
        site=site,
        csrf=csrf,
        return_to=return_to,
        user=user,
        message=message,
        invalid=bool(message),
        passkeys=passkeys,
        script="static/passkeys.js" if passkeys else "",
    )


def logout_page(*, site: str, csrf: str, user: str | None, lang: str = "en") -> str:
    """Asks before signing out: a GET must not change anything."""
    return render("logout.html", lang=lang, site=site, csrf=csrf, user=user)


def message_page(
    *,
    site: str,
    heading: str,
    text: str,
    kind: str = "ok",
    link: str = "",
    lang: str = "en",
    links: list[tuple[str, str]] | None = None,
) -> str:
    """A short result page (signed out, form expired, bad link).

    ``heading`` and ``text`` are message ids, translated here; ``link`` adds a
    "Sign in" link to that target, ``links`` any (target, label) pairs.
    """
    _ = translator(lang)
    shown = list(links or [])
    if link:
        shown.insert(0, (link, _("Sign in")))
    return render(
        "message.html",
        lang=lang,
        site=site,
        heading=_(heading),
        text=_(text),
        kind=kind,
        links=shown,
    )


def status_page(
    *, site: str, user: str | None, csrf: str, lang: str = "en", landing: str = "/"
) -> str:
    """The portal's root: who is signed in, and where to go from here."""
    return render("status.html", lang=lang, site=site, user=user, csrf=csrf, landing=landing)


def demo_page(*, site: str, user: str, csrf: str, lang: str = "en") -> str:
    """What sits behind the gate in ``otpgate demo``."""
    return render("demo.html", lang=lang, site=site, user=user, csrf=csrf)
