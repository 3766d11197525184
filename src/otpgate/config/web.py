"""The ``[web]`` table: the HTTP front ends' settings, each with its rule.

Loaded by :func:`otpgate.config.loader.load_config`, which re-exports :class:`WebConfig`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Final

from ..errors import ConfigError
from .rules import NETWORKS, POSITIVE, URL_OR_PATH, at_least, between, one_of, rule
from .schema import Section, setting
from .webauthn import ORIGINS, RP_ID

__all__ = ["WebConfig", "webauthn_party"]

# It goes into a WWW-Authenticate header as a quoted string.
_REALM: Final = rule(
    lambda v: v.isascii() and v.isprintable() and '"' not in v and "\\" not in v,
    "must be printable ASCII without quotes or backslashes",
)
_LANGUAGES: Final = 'must be "en", "de" or "" (from the browser)'


@dataclass(frozen=True, slots=True)
class WebConfig(Section):
    """The HTTP front ends.

    Attributes:
        listen: ``HOST:PORT`` for ``otpgate serve``.
        realm: the Basic realm shown by browsers.
        instance: the name that keeps this gate's sessions apart from another
            gate's with the same session secret; default: the realm and the
            store's location (see :func:`otpgate.web.session_cookies.instance_name`).
        portal: redirect browsers without credentials to the login page.
        portal_url: the login portal's public base URL (``https://auth.example.com``
            or a path such as ``/otpgate`` on the protected site); forward-auth
            redirects point to ``<portal_url>/login``.
        redirect_status: 302 (Traefik, Caddy) or 401 with ``Location`` (nginx);
            ``/auth?redirect=302|401|off`` overrides it per proxy.
        trusted_proxies: addresses or networks whose ``X-Forwarded-*`` and
            ``X-Original-URL`` headers are believed; everyone else's are ignored.
        allowed_hosts: hosts a login may return to (``.example.com`` also
            matches its subdomains); the portal's own host always is.
        session_secrets: cookie signing secrets, newest last (older ones still
            verify, so secrets can be rotated); every gate process sharing
            sessions needs the same list.
        session_secret_file: a file with one secret per line, newest last.
        cookie_name: the session cookie.
        cookie_domain: set to share sessions between subdomains.
        cookie_secure: mark cookies ``Secure``; only turn off for plain-HTTP tests.
        session_lifetime: seconds a login-page session lasts at most (12 hours,
            a working day); independent of the Basic linger.
        session_idle: seconds without a request after which a session ends
            (30 minutes; every request slides it); ``None`` or 0 for none.
        landing_url: where a login without a return URL goes; ``""`` means
            ``/`` when ``portal_url`` is a path (the protected site), else the
            portal's account page.
        signed_out_url: where signing out goes; ``""`` shows the portal's
            "signed out" page.
        language: ``en`` or ``de`` to fix the pages' language; ``""`` follows
            the browser's ``Accept-Language``.
        pin_min_length: the shortest PIN a user may choose in the portal.
        api_keys: keys accepted by ``POST /api/v1/check``.
        api_keys_file: a file with one API key per line.
        max_body: the largest request body read, in bytes.
        metrics_allow: networks whose clients may read ``/metrics`` (judged by the
            address a trusted proxy forwards, not by the proxy's own).
        title: the heading on the login page.
        demo: serve a demo page at ``/demo/`` that needs a login.
        log_format: ``text`` or ``json`` (one JSON object per line; see
            :mod:`otpgate.audit.decision_log`).
        webauthn_rp_id: the domain passkeys are bound to (the portal's host or
            a parent domain of it); ``""``: the host of an absolute
            ``portal_url``, else no passkeys (docs/passkeys.md).
        webauthn_origins: the exact origins (``https://auth.example.com``) the
            portal's pages are served from, as browsers see them (behind a
            proxy: the public ones); ``()``: the origin of an absolute
            ``portal_url``, else ``https://<webauthn_rp_id>``.
    """

    listen: str = "127.0.0.1:9090"
    realm: str = setting("otpgate", _REALM)
    instance: str = ""
    portal: bool = True
    portal_url: str = setting("", URL_OR_PATH)
    redirect_status: int = setting(
        302, one_of((302, 303, 307, 401), "must be 302, 303, 307 or 401")
    )
    trusted_proxies: tuple[str, ...] = setting(("127.0.0.1", "::1"), NETWORKS)
    allowed_hosts: tuple[str, ...] = ()
    session_secrets: tuple[str, ...] = setting((), secret=True)
    session_secret_file: str | None = None
    cookie_name: str = "otpgate_session"
    cookie_domain: str | None = None
    cookie_secure: bool = True
    session_lifetime: float = setting(12 * 3600.0, POSITIVE)
    session_idle: float | None = setting(1800.0, at_least(0, "must not be negative"))
    landing_url: str = setting("", URL_OR_PATH)
    signed_out_url: str = setting("", URL_OR_PATH)
    language: str = setting("", one_of(("", "en", "de"), _LANGUAGES))
    pin_min_length: int = setting(6, between(4, 64, "must be 4 to 64"))
    api_keys: tuple[str, ...] = setting((), secret=True)
    api_keys_file: str | None = None
    max_body: int = setting(8192, at_least(256, "must be at least 256 bytes"))
    metrics_allow: tuple[str, ...] = setting(("127.0.0.1", "::1"), NETWORKS)
    title: str = "otpgate"
    demo: bool = False
    log_format: str = setting("text", one_of(("text", "json"), "must be text or json"))
    webauthn_rp_id: str = setting("", RP_ID)
    webauthn_origins: tuple[str, ...] = setting((), ORIGINS)


def webauthn_party(w: WebConfig) -> tuple[str, tuple[str, ...]] | None:
    """(RP ID, origins) for passkeys, from the settings or an absolute ``portal_url``;
    ``None``: passkeys are off (nothing says which domain they are for).

    Raises:
        ConfigError: origins without an RP ID, or an origin not on the RP ID.
    """
    portal = urllib.parse.urlsplit(w.portal_url) if w.portal_url.startswith("http") else None
    rp_id = w.webauthn_rp_id or (portal.hostname or "" if portal is not None else "")
    if not rp_id:
        if w.webauthn_origins:
            raise ConfigError("web.webauthn_origins needs web.webauthn_rp_id")
        return None
    if w.webauthn_origins:
        for origin in w.webauthn_origins:
            host = urllib.parse.urlsplit(origin).hostname or ""
            if host != rp_id and not host.endswith("." + rp_id):
                raise ConfigError(
                    f"web.webauthn_origins: {origin!r} is not on {rp_id!r} or under it"
                )
        return rp_id, w.webauthn_origins
    if portal is not None and not w.webauthn_rp_id:
        return rp_id, (f"{portal.scheme}://{portal.netloc}".lower(),)
    return rp_id, (f"https://{rp_id}",)
