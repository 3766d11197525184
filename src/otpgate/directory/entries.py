"""A directory user as otpgate sees it, and the two dialects (OpenLDAP, Active Directory).

The dialect says which attribute is the stable id (``entryUUID``;
``objectGUID``, 16 bytes that AD shows in its little-endian GUID form) and
whether an entry is disabled (AD: the ACCOUNTDISABLE bit of
``userAccountControl``; OpenLDAP: ``disabled_filter``, asked of the server).
Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..errors import StoreError, UnknownUser
from .settings import DirectorySettings

__all__ = [
    "ACCOUNTDISABLE",
    "Dialect",
    "DirectoryUnavailable",
    "DirectoryUser",
    "NotInDirectory",
    "dialect_of",
    "escape_filter",
    "ranged",
]

# userAccountControl bit 2: the account is disabled (MS-ADTS 2.2.16).
ACCOUNTDISABLE: Final = 0x2

Attributes = Mapping[str, Sequence[bytes]]


class DirectoryUnavailable(StoreError):
    """No directory server answered (every URL tried): a login is refused, never accepted.

    The pool logs one line when the directory goes away (and one when it is
    back), so whoever catches this need not log each refusal.
    """

    logged = True


class NotInDirectory(UnknownUser):
    """The directory has no such user: no token is kept for the name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the directory has no user {name!r}")
        self.name = name

    def __str__(self) -> str:  # not KeyError's quoted repr
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One user entry.

    Attributes:
        id: the stable id as text (a UUID): the store keeps the token under it,
            so a rename in the directory keeps the token.
        login: the login name as the directory spells it.
        dn: the entry's DN (for the bind of ``pin = "directory"``).
        display: the display name ("" when the entry has none).
        mail: the mail address ("" when none).
        enabled: not disabled in the directory.
        member: in ``user_group`` (or no such group is configured).
        admin: in ``admin_group``.
    """

    id: str
    login: str
    dn: str
    display: str = ""
    mail: str = ""
    enabled: bool = True
    member: bool = True
    admin: bool = False

    @property
    def may_log_in(self) -> bool:
        return self.enabled and self.member


def escape_filter(value: str | bytes) -> str:
    """``value`` escaped for an LDAP filter (RFC 4515): ``*()\\`` NUL, and bytes as ``\\xx``."""
    if isinstance(value, bytes):
        return "".join(f"\\{b:02x}" for b in value)
    special = {"*": "\\2a", "(": "\\28", ")": "\\29", "\\": "\\5c", "\0": "\\00"}
    return "".join(special.get(c, c) for c in value)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one kind of server names the things otpgate needs."""

    id_attribute: str
    active_directory: bool

    def id_of(self, attrs: Attributes) -> str | None:
        """The stable id as text, or ``None`` if the entry has none we can read."""
        values = _get(attrs, self.id_attribute)
        if not values:
            return None
        raw = values[0]
        try:
            if self.active_directory:
                return str(uuid.UUID(bytes_le=raw))
            return str(uuid.UUID(raw.decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            return None

    def disabled(self, attrs: Attributes) -> bool:
        """AD: the ACCOUNTDISABLE bit (an unreadable value counts as disabled)."""
        if not self.active_directory:
            return False
        values = _get(attrs, "userAccountControl")
        try:
            return bool(int(values[0]) & ACCOUNTDISABLE) if values else False
        except ValueError:
            return True

    def attributes(self, settings: DirectorySettings) -> list[str]:
        """The attributes a lookup asks for."""
        wanted = [
            self.id_attribute,
            settings.login_attribute,
            settings.display_attribute,
            settings.mail_attribute,
        ]
        return wanted + (["userAccountControl"] if self.active_directory else [])


def dialect_of(settings: DirectorySettings) -> Dialect:
    if settings.active_directory:
        return Dialect("objectGUID", True)
    return Dialect("entryUUID", False)


def _get(attrs: Attributes, name: str) -> Sequence[bytes]:
    """An attribute's values, its name matched without regard to case (as LDAP does)."""
    lowered = name.lower()
    for key, values in attrs.items():
        if key.lower() == lowered:
            return values
    return ()


def ranged(attrs: Attributes, name: str) -> tuple[list[bytes], int | None]:
    """An attribute's values and, when the server sent only a range of them (AD's
    ``member;range=0-1499``), where the next range starts; ``None`` when these are all.
    """
    lowered = name.lower()
    for key, values in attrs.items():
        head, _, options = key.lower().partition(";")
        if head != lowered:
            continue
        if not options.startswith("range="):
            return list(values), None
        _, _, high = options.removeprefix("range=").partition("-")
        if high == "*" or not high.isdigit():
            return list(values), None
        return list(values), int(high) + 1
    return [], None


def text(attrs: Attributes, name: str) -> str:
    """An attribute's first value as text ("" if none or not UTF-8)."""
    values = _get(attrs, name)
    try:
        return values[0].decode("utf-8") if values else ""
    except UnicodeDecodeError:
        return ""
