"""The ``[web]`` table: the HTTP front ends' settings and the rules between them.

Loaded by :func:`otpgate.config.loader.load_config`, which re-exports :class:`WebConfig`.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["WebConfig", "check_web", "webauthn_party"]


@dataclass(frozen=True, slots=True)
class WebConfig:
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
    realm: str = "otpgate"
    instance: str = ""
    portal: bool = True
    portal_url: str = ""
    redirect_status: int = 302
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    allowed_hosts: tuple[str, ...] = ()
    session_secrets: tuple[str, ...] = field(default=(), repr=False)
    session_secret_file: str | None = None
    cookie_name: str = "otpgate_session"
    cookie_domain: str | None = None
    cookie_secure: bool = True
    session_lifetime: float = 12 * 3600.0
    session_idle: float | None = 1800.0
    landing_url: str = ""
    signed_out_url: str = ""
    language: str = ""
    pin_min_length: int = 6
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    api_keys_file: str | None = None
    max_body: int = 8192
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    title: str = "otpgate"
    demo: bool = False
    log_format: str = "text"
    webauthn_rp_id: str = ""
    webauthn_origins: tuple[str, ...] = ()


def check_web(w: WebConfig, problems: list[str]) -> None:
    """Add what is wrong with the ``[web]`` settings to ``problems``.

    The trusted and metrics networks are checked by :class:`otpgate.config.loader.Config`,
    which parses them.
    """
    if not (w.realm.isascii() and w.realm.isprintable()) or '"' in w.realm or "\\" in w.realm:
        # It goes into a WWW-Authenticate header as a quoted string.
        problems.append("web.realm must be printable ASCII without quotes or backslashes")
    if w.redirect_status not in (302, 303, 307, 401):
        problems.append("web.redirect_status must be 302, 303, 307 or 401")
    if w.log_format not in ("text", "json"):
        problems.append("web.log_format must be text or json")
    if w.max_body < 256:
        problems.append("web.max_body must be at least 256 bytes")
    if w.session_lifetime <= 0:
        problems.append("web.session_lifetime must be positive")
    if w.session_idle is not None and w.session_idle < 0:
        problems.append("web.session_idle must not be negative")
    if w.language not in ("", "en", "de"):
        problems.append('web.language must be "en", "de" or "" (from the browser)')
    if not 4 <= w.pin_min_length <= 64:
        problems.append("web.pin_min_length must be 4 to 64")
    for name in ("landing_url", "signed_out_url"):
        value = getattr(w, name)
        if value and not (value.startswith(("http://", "https://")) or value.startswith("/")):
            problems.append(f"web.{name} must be an http(s) URL or start with /")
    _check_webauthn(w, problems)
    if w.portal_url and not (
        w.portal_url.startswith(("http://", "https://")) or w.portal_url.startswith("/")
    ):
        problems.append("web.portal_url must be an http(s) URL or start with /")


_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def webauthn_party(w: WebConfig) -> tuple[str, tuple[str, ...]] | None:
    """(RP ID, origins) for passkeys, from the settings or an absolute ``portal_url``;
    ``None``: passkeys are off (nothing says which domain they are for)."""
    portal = urllib.parse.urlsplit(w.portal_url) if w.portal_url.startswith("http") else None
    rp_id = w.webauthn_rp_id or (portal.hostname or "" if portal is not None else "")
    if not rp_id:
        return None
    if w.webauthn_origins:
        return rp_id, w.webauthn_origins
    if portal is not None and not w.webauthn_rp_id:
        return rp_id, (f"{portal.scheme}://{portal.netloc}".lower(),)
    return rp_id, (f"https://{rp_id}",)


def _check_webauthn(w: WebConfig, problems: list[str]) -> None:
    """The RP ID is a domain (not an address), each origin is on it, https but for localhost."""
    rp_id = w.webauthn_rp_id
    if rp_id:
        try:
            ipaddress.ip_address(rp_id)
            problems.append("web.webauthn_rp_id must be a domain name, not an address")
            return
        except ValueError:
            pass
        if not _DOMAIN.match(rp_id):
            problems.append("web.webauthn_rp_id must be a lower-case domain name (no scheme, port)")
            return
    elif w.webauthn_origins:
        problems.append("web.webauthn_origins needs web.webauthn_rp_id")
        return
    for origin in w.webauthn_origins:
        parts = urllib.parse.urlsplit(origin)
        host = parts.hostname or ""
        local = host == "localhost" or host.endswith(".localhost")
        if (
            parts.scheme not in ("https", "http")
            or (parts.scheme == "http" and not local)
            or parts.path
            or parts.query
            or parts.fragment
            or origin != origin.lower()
        ):
            problems.append(
                f"web.webauthn_origins: {origin!r} must be https://host[:port] in lower case "
                "(http only for localhost)"
            )
        elif host != rp_id and not host.endswith("." + rp_id):
            problems.append(f"web.webauthn_origins: {origin!r} is not on {rp_id!r} or under it")
