"""Who a ``/validate`` request names, in which realm: privacyIDEA's reading of ``user``/``realm``.

``user@realm`` and ``realm\\user`` name the realm when it is ours (a name
with ``@`` in another domain stays whole, as in privacyIDEA); an explicit
``realm`` parameter wins; no realm means the default realm, which is ours.
Another realm is answered as privacyIDEA answers a user no resolver knows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..._limits import MAX_PASSWORD
from ..request import MalformedCredentials, check_user, is_unicode
from ._params import ParamError

if TYPE_CHECKING:
    from ...store.records import UserRecord

__all__ = ["Login", "UnknownRealm", "read_login", "serial_of", "type_of"]

_TRUE: Final = frozenset({"1", "true", "yes", "on"})


class UnknownRealm(LookupError):
    """The request names a realm that is not this gate's; the message is privacyIDEA's."""

    def __init__(self, user: str, realm: str) -> None:
        super().__init__(f"User <{user}@{realm}> does not exist.")


@dataclass(frozen=True, slots=True)
class Login:
    """A ``/validate/check`` request's user and password (``pass``), checked for size."""

    user: str
    password: str
    transaction_id: str | None

    @property
    def sound(self) -> bool:
        """Whether the password could ever be accepted (not empty, not too long, Unicode).

        An empty password is never sent on: the Authenticator reads one as a
        sign-out, which a stranger must not be able to cause.
        """
        return 0 < len(self.password) <= MAX_PASSWORD and is_unicode(self.password)


def read_login(params: dict[str, str], realm: str) -> Login:
    """The request's login.

    Raises:
        ParamError: no user, a name no store can hold, or what is not supported
            (``serial`` without ``user``, ``otponly``).
        UnknownRealm: another realm than ``realm``.
    """
    if params.get("otponly", "").strip().lower() in _TRUE:
        raise ParamError("otponly is not supported: send the user's PIN and code in pass")
    user = params.get("user", "").strip()
    if not user and params.get("serial"):
        raise ParamError("a serial alone is not supported: send the user")
    user, named = _split(user, realm)
    named = params.get("realm", named).strip()
    if not user:
        raise ParamError("You need to specify a serial, user or credential_id.")
    if named and named.lower() != realm.lower():
        raise UnknownRealm(user, named)
    try:
        check_user(user)
    except MalformedCredentials:
        raise ParamError("user is not a valid user name") from None
    tid = params.get("transaction_id") or params.get("state") or None
    return Login(user, params.get("pass", ""), tid)


def _split(user: str, realm: str) -> tuple[str, str]:
    """``user@realm`` or ``realm\\user``, split when the realm is ours (as ``split_user``)."""
    name, at, domain = user.rpartition("@")
    if at and name and domain.lower() == realm.lower():
        return name, domain
    domain, slash, name = user.partition("\\")
    if slash and name and domain.lower() == realm.lower():
        return name, domain
    return user, ""


def serial_of(user: str, record: UserRecord | None) -> str:
    """The serial shown for ``user``'s token: its own, else one made from the name.

    The made one does not depend on whether the user exists, so a challenge
    says nothing about that.
    """
    if record is not None and record.serial:
        return record.serial
    return "OTPG" + hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:8].upper()


def type_of(record: UserRecord | None) -> str:
    """privacyIDEA's token type name for the user's token (``hotp``, ``totp``, ``motp``)."""
    if record is None:
        return "totp"
    ttype = record.token_type
    if ttype.kind == "MOTP":
        return "motp"
    return "hotp" if ttype.step == 0 else "totp"
