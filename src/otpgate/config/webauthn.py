"""The rules of ``web.webauthn_rp_id`` and ``web.webauthn_origins`` (passkeys).

Each setting's own rule is checked when the settings are read; that every
origin lies on the RP ID is checked by :func:`otpgate.config.web.webauthn_party`,
which the web app calls when it starts (a clear :class:`~otpgate.errors.ConfigError`).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Collection
from typing import Final

__all__ = ["ORIGINS", "RP_ID"]

_DOMAIN: Final = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _rp_id(value: str) -> str | None:
    if not value:
        return None
    try:
        ipaddress.ip_address(value)
        return "must be a domain name, not an address"
    except ValueError:
        pass
    return None if _DOMAIN.match(value) else "must be a lower-case domain name (no scheme, port)"


def _bad_origin(origin: str) -> bool:
    parts = urllib.parse.urlsplit(origin)
    host = parts.hostname or ""
    local = host == "localhost" or host.endswith(".localhost")
    return bool(
        parts.scheme not in ("https", "http")
        or not host
        or (parts.scheme == "http" and not local)
        or parts.path
        or parts.query
        or parts.fragment
        or origin != origin.lower()
    )


def _origins(values: Collection[str]) -> str | None:
    bad = [v for v in values if _bad_origin(v)]
    if not bad:
        return None
    says = "must be https://host[:port] in lower case (http only for localhost), not "
    return says + ", ".join(bad)


RP_ID: Final = _rp_id
ORIGINS: Final = _origins
