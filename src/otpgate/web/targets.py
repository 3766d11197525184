"""Where a login may send the browser back to: the allowed hosts, and the URL it came for.

A return URL is followed only to the gate's own site or an allowed host
(:func:`~.request.safe_return_url`): ``web.allowed_hosts``, the portal's host
and the cookie domain.  ``/auth`` learns the original URL only from a trusted
proxy.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from starlette.requests import Request

from .request import safe_return_url

if TYPE_CHECKING:
    from ..config.loader import WebConfig
    from .clients import ClientAddresses

__all__ = ["ReturnTargets"]


class ReturnTargets:
    """The hosts a login may return to, and how to read a return URL.

    Args:
        web: the ``[web]`` settings (allowed hosts, portal URL, cookie domain).
        clients: whose forwarded headers count.
    """

    def __init__(self, web: WebConfig, clients: ClientAddresses) -> None:
        self.clients = clients
        self.allowed_hosts = list(web.allowed_hosts)
        portal = urllib.parse.urlsplit(web.portal_url)
        if portal.hostname:
            self.allowed_hosts.append(portal.hostname)
        if web.cookie_domain:
            self.allowed_hosts.append("." + web.cookie_domain.lstrip("."))
        self.portal_is_path = not portal.netloc

    def chosen(self, request: Request, value: str | None) -> str:
        """``value`` (a login form's ``rd``) if safe and on an allowed host or this page's,
        else ``""``."""
        allowed = [*self.allowed_hosts, self.clients.host(request)]
        return safe_return_url(value, allowed) or ""

    def original(self, request: Request) -> str | None:
        """Where the browser wanted to go, if a trusted proxy said so and it is safe."""
        if not self.clients.from_proxy(request):
            return None
        h = request.headers
        url = h.get("x-original-url")
        host = self.clients.forwarded(request, "x-forwarded-host")
        if url is None and host:
            proto = self.clients.forwarded(request, "x-forwarded-proto") or "https"
            url = f"{proto}://{host}{h.get('x-forwarded-uri', '/')}"
        if url is None:
            return None
        if self.portal_is_path:
            # The portal is on the protected site itself: return by path only.
            try:
                parts = urllib.parse.urlsplit(url)
            except ValueError:
                return None
            path = "/" + parts.path.lstrip("/")
            url = path + (f"?{parts.query}" if parts.query else "")
            return safe_return_url(url, ())
        return safe_return_url(url, self.allowed_hosts)
