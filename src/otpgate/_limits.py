"""Input limits and rules that every front end and store shares.

Defined once here so that the login page, forward auth, the API, Apache and
the Authenticator refuse exactly the same input.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = [
    "CONTROL",
    "MAX_PASSWORD",
    "MAX_USER",
    "escape_control",
    "has_control",
    "retry_after_seconds",
]

# Longer user names are refused before anything else is done.
MAX_USER: Final = 256
# Longer passwords (PIN + code) are refused unread.
MAX_PASSWORD: Final = 1024
# C0 controls, DEL and C1 controls: never in a user name, since a name ends up
# in HTTP headers (Remote-User), log lines and the users file.
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (:data:`CONTROL`)."""
    return CONTROL.search(text) is not None


def escape_control(text: str) -> str:
    """``text`` with each control character written as Python writes it (``\\n``, ``\\x1b``).

    For showing stored text on a terminal: a newline would forge a line, an
    escape sequence would reprogram the terminal.
    """
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds for ``Retry-After`` and messages: rounded up, at least 1."""
    return max(math.ceil(seconds), 1)
