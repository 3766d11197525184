"""Store URLs as they may be shown: never with a password.

A PostgreSQL URL can carry its password in the authority
(``postgresql://user:pw@host/db``) or as a ``password=`` parameter.  Every
message, log line and ``store.url`` that names a store URL goes through
:func:`redact`.  It works on the text alone, so it also covers the URLs that
cannot be parsed (a bad port, an unclosed IPv6 bracket): those are exactly the
ones that end up in error messages.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["redact"]

# scheme ":" ["//"] userinfo "@" ...: the userinfo runs to the *last* '@', as
# urllib reads it, so a password holding a raw '@' is masked whole.  That may
# mask more than the password in odd URLs, never less.
_USERINFO: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:(?://)?)([^:@]*):(.*)@", re.DOTALL)
# password=... as a URL parameter or a libpq keyword (up to '&', '#' or a space).
_PASSWORD_PARAM: Final = re.compile(r"(?i)(\bpassword\s*=\s*)[^&#\s]*")


def redact(url: str) -> str:
    """The URL with any password (in the authority or a parameter) as ``***``."""
    shown = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", url, count=1)
    return _PASSWORD_PARAM.sub(r"\1***", shown)
