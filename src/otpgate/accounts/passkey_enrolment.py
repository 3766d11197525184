"""Enrolment from an invitation with a passkey instead of an authenticator app.

The invitation's PIN step is the same; instead of scanning the new OTP key
and typing a code, the user registers a passkey (verified by
:meth:`otpgate.login.passkeys.Ceremonies.verify_registration`).  As with a
code, the invitation is marked used first (compare-and-set), so of two
confirmations only one goes on.

The user is created with no OTP token at all: the invitation's pending key,
which its page may have shown as a QR code, is not kept, so it is no factor
the user does not know about (:meth:`UserRecord.passkeys_only`).  Such a
user signs in with PIN + passkey or the passkey alone; Basic auth, RADIUS
and PAM, which cannot carry a passkey, refuse their codes like wrong ones,
until an administrator's reset link (or ``otpgate token add``) gives them a
code token.  Reset links (a new token for an
existing user) are not offered a passkey: they replace the code token.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..store.records import UserRecord, UserState
from .selfservice import Event, InvitationRefused, WrongCode

if TYPE_CHECKING:
    from ..store.passkeys import Passkey, PasskeyStore
    from .selfservice import SelfService

__all__ = ["confirm_with_passkey", "passkey_user"]


def passkey_user(service: SelfService, token: str, now: float) -> str:
    """The user an invitation may register a passkey for (its PIN chosen, not a reset).

    Raises:
        InvitationRefused: the link cannot be used.
        WrongCode: no PIN chosen yet, or a reset link.
    """
    inv = service.open(token, now)
    if inv.status != "pending" or inv.pending_pin is None or inv.reset:
        raise WrongCode("no PIN chosen yet, or a reset link")
    return inv.username


def confirm_with_passkey(
    service: SelfService, passkeys: PasskeyStore, token: str, passkey: Passkey, ip: str, now: float
) -> tuple[str, list[str]]:
    """Create the invitation's user with ``passkey``; return (user, recovery codes).

    Raises:
        InvitationRefused: the link cannot be used (any more), or the user exists.
        WrongCode: no PIN chosen yet, a reset link, or a passkey made for another user.
        StoreError: the store failed.
    """
    inv = service.open(token, now)
    if (
        inv.status != "pending"
        or inv.pending_key is None
        or inv.pending_pin is None
        or inv.reset
        or passkey.user != inv.username
    ):
        raise WrongCode("not a link to enrol this passkey with")
    if passkeys.find_passkey(passkey.credential_id) is not None:
        raise WrongCode("this passkey is registered already")  # the link stays usable
    store = service.store
    # The pending key (and PIN, which come together) go with the link: the
    # user will not hold that key.
    used = replace(inv.with_status("used"), pending_key=None, pending_pin=None)
    if store.update_invitation(inv.digest, inv.version, used) is None:
        raise InvitationRefused("used")
    record = UserRecord.passkeys_only(inv.username, inv.pending_pin, UserState())
    try:
        store.add(record)
    except StoreError:
        raise InvitationRefused("exists") from None
    try:
        passkeys.add_passkey(passkey)
    except StoreError:
        store.remove(inv.username)  # nothing half-made: the user without the passkey goes
        raise
    codes = service.renew_codes(inv.username, now, ip)
    service.audit(now, inv.username, Event.ENROLLED, ip)
    service.revoke(inv.username, now, keep=inv.digest)
    return inv.username, codes
