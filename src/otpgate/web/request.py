"""Reading a request: Basic credentials, the client address, a safe return URL.

Forwarded headers are only believed from configured proxies, and a return URL
is only followed to the same site or an allow-listed host; everything in here
is pure (strings in, strings out) so it can be tested without a server.
"""

from __future__ import annotations

import binascii
import ipaddress
import re
import urllib.parse
from collections.abc import Sequence
from typing import Final

from .._limits import MAX_PASSWORD, MAX_USER, has_control
from ..config.loader import Network

__all__ = [
    "MalformedCredentials",
    "check_user",
    "client_address",
    "forwarded_list",
    "forwarded_value",
    "host_allowed",
    "is_trusted",
    "is_unicode",
    "parse_basic",
    "safe_return_url",
    "split_host",
]

MAX_AUTHORIZATION: Final = 4096
MAX_URL: Final = 2048

# C0 controls, DEL, C1 controls, backslash and whitespace never belong in a
# return URL; browsers "repair" some of them into something else.  Lone
# surrogates are not text at all (they cannot be encoded as UTF-8).
_BAD_URL_CHARS: Final = re.compile(r"[\x00-\x20\x7f-\x9f\\\ud800-\udfff]")
_HOST_RE: Final = re.compile(r"[a-z0-9.\-\[\]:]+")
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]+")
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


class MalformedCredentials(ValueError):
    """An Authorization header that is not valid Basic credentials."""


def _in(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Sequence[Network]) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in nets)


def is_trusted(peer: str | None, trusted: Sequence[Network]) -> bool:
    """Whether the direct peer is a configured proxy."""
    if not peer:
        return False
    try:
        return _in(ipaddress.ip_address(peer), trusted)
    except ValueError:
        return False


def forwarded_list(lines: Sequence[str]) -> str | None:
    """Several lines of one list-valued header as the one list they mean.

    RFC 9110 §5.3: a recipient may combine field lines of the same name, in
    order, with commas.  A proxy that adds its own ``X-Forwarded-For`` line
    after the client's instead of extending it sends two lines; reading only
    the first would let the client pick its own address.
    """
    return ", ".join(lines) if lines else None


def forwarded_value(lines: Sequence[str]) -> str | None:
    """The value a trusted proxy set in ``X-Forwarded-Host`` or ``-Proto``.

    Proxies that keep an incoming value append theirs (Apache's mod_proxy), so
    with several values, in one line or several, the last one is the nearest
    proxy's; the first may be the client's.
    """
    for value in reversed(", ".join(lines).split(",")):
        if value.strip():
            return value.strip()
    return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address.

    ``X-Forwarded-For`` is read only when the direct peer is trusted, from the
    right (each proxy appends the address it saw), skipping trusted proxies;
    the first untrusted address is the client.  A garbled entry ends the walk
    there, since everything left of it may be forged.
    """
    current = peer or ""
    if not forwarded_for or not is_trusted(peer, trusted):
        return current
    for raw in reversed(forwarded_for.split(",")[-20:]):
        text = raw.strip()
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return current
        current = str(addr)
        if not _in(addr, trusted):
            return current
    return current


def parse_basic(header: str) -> tuple[str, str]:
    """Split ``Authorization: Basic base64(user:password)``.

    Raises:
        MalformedCredentials: not Basic, bad base64, not UTF-8, no colon, an
            empty or overlong user name, or control characters in the name.
    """
    if len(header) > MAX_AUTHORIZATION:
        raise MalformedCredentials("header too long")
    scheme, _, blob = header.strip().partition(" ")
    if scheme.lower() != "basic" or not blob:
        raise MalformedCredentials("not Basic")
    try:
        raw = binascii.a2b_base64(blob.strip().encode("ascii"), strict_mode=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise MalformedCredentials("bad encoding") from None
    user, colon, password = text.partition(":")
    if not colon:
        raise MalformedCredentials("no colon")
    check_user(user)
    if len(password) > MAX_PASSWORD:
        raise MalformedCredentials("password too long")
    return user, password


def check_user(user: str) -> None:
    """Refuse names no store can hold, before they reach the Authenticator.

    Raises:
        MalformedCredentials: empty, overlong, with control characters, or
            not valid Unicode (:func:`is_unicode`).
    """
    if not user or len(user) > MAX_USER or has_control(user) or not is_unicode(user):
        raise MalformedCredentials("bad user name")


def is_unicode(text: str) -> bool:
    """Whether ``text`` can be encoded as UTF-8: no lone surrogates.

    JSON can carry them (``"\\ud800"``); no store, log line or header can.
    """
    return _SURROGATE.search(text) is None


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """``host`` (no port) matches an entry; ``.example.com`` also matches subdomains."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if not entry:
            continue
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def safe_return_url(url: str | None, allowed: Sequence[str]) -> str | None:
    """``url`` if a login may send the browser there, else ``None``.

    Accepted: a path on this site (``/x``, not ``//x`` or ``/\\x``), or an
    ``http(s)`` URL without user info whose host is allowed.  Everything with
    control characters, whitespace or backslashes is refused outright, since
    browsers normalise those into other URLs.  The URL returned is ASCII:
    other characters are percent-encoded, as a browser would.
    """
    if not url or len(url) > MAX_URL or _BAD_URL_CHARS.search(url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises for a garbled port
    except ValueError:
        return None
    del port
    if not parts.scheme and not parts.netloc:
        if url.startswith("/") and not url.startswith("//"):
            return _as_location(url)
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if "@" in parts.netloc or not parts.hostname:
        return None
    if not _HOST_RE.fullmatch(parts.hostname) or not host_allowed(parts.hostname, allowed):
        return None
    return _as_location(url)


def _as_location(url: str) -> str | None:
    """``url`` with non-ASCII characters percent-encoded as UTF-8 (RFC 3987 §3.1).

    What a browser sends for the same address; a ``Location`` header cannot
    carry anything else.  ASCII (including existing ``%xx``) is left alone.
    ``None`` if that makes it longer than :data:`MAX_URL` (up to 9 times
    longer; proxies cap header sizes).
    """
    url = _NON_ASCII.sub(lambda m: urllib.parse.quote(m.group(), safe=""), url)
    return url if len(url) <= MAX_URL else None


def split_host(host_header: str) -> str:
    """The host name from a ``Host`` value (``[::1]:80`` -> ``::1``)."""
    try:
        return urllib.parse.urlsplit("//" + host_header).hostname or ""
    except ValueError:
        return ""
