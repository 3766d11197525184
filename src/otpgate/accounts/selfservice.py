"""Self-service: invitations, enrolment, PIN changes and recovery codes, without HTTP.

The portal's pages (and ``otpgate user invite``) call this layer; it talks to
the store and writes the audit log, and knows nothing about forms or cookies.
Proving who the user is (a session plus a fresh PIN and code, or a link) is
the caller's job; this layer checks the link itself and the PIN policy.

Every change here is audited with ``result="accept"`` and a ``reason`` from
:class:`Event`.
"""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from ..errors import OTPGateError, StoreError
from ..login import recovery
from ..otp.keys import new_key
from ..otp.tokens import TokenType
from ..otp.verify import Token, TokenState, verify
from ..store import invitations, parse_store_url
from ..store.invitations import Invitation
from ..store.records import Pin, UserRecord, UserState
from .pin_policy import PinPolicy, PinProblem

if TYPE_CHECKING:
    from ..audit.writer import AuditLog
    from ..login.pins import PinHasher
    from ..store.base import SelfServiceStore

__all__ = ["USER_NAME", "Event", "InvitationRefused", "SelfService", "WrongCode"]

# The admin CLI's rule for user names (1-128 of A-Z a-z 0-9 . _ @ + -).
USER_NAME: Final = re.compile(r"[A-Za-z0-9._@+-]{1,128}", re.ASCII)
RECOVERY_CODES: Final = 10


class Event(StrEnum):
    """What the audit log calls each self-service change."""

    INVITED = "invited"
    INVITE_REVOKED = "invite_revoked"
    ENROLLED = "enrolled"  # a new user's token confirmed
    TOKEN_REPLACED = "token_replaced"  # noqa: S105 -- an event name: a reset's token confirmed
    PIN_CHANGED = "pin_changed"
    RECOVERY_RENEWED = "recovery_renewed"
    SESSION_CREATED = "session_created"


class InvitationRefused(OTPGateError):
    """The link cannot be used; ``why`` is ``unknown``, ``used``, ``revoked``,
    ``expired``, ``exists`` (a new user's name was taken meanwhile) or
    ``changed`` (the user a reset was made for was removed or got another token)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"invitation refused: {why}")
        self.why = why


class WrongCode(OTPGateError):
    """The code does not match the new token (or has the wrong form)."""


class SelfService:
    """Self-service operations on one store.

    Args:
        store: where users and invitations live.
        policy: the rules for new PINs.
        hasher: hashes PINs for SQL stores.
        audit: where changes are recorded, or ``None``.
        issuer: the ``issuer`` shown by authenticator apps.
    """

    def __init__(
        self,
        store: SelfServiceStore,
        *,
        policy: PinPolicy,
        hasher: PinHasher,
        audit: AuditLog | None = None,
        issuer: str = "otpgate",
    ) -> None:
        self.store = store
        self.policy = policy
        self._hasher = hasher
        self._audit_log = audit
        self.issuer = issuer
        # The users file keeps PINs as the reference module does: in plain text.
        self._plain_pins = parse_store_url(store.url)[0] == "users-file"
        # Users from a directory with pin = "directory" or "none" choose no PIN
        # here (otpgate.directory.users.DirectoryUserStore says which).
        self.asks_pin = getattr(store, "pin", "own") == "own"

    # -- invitations -------------------------------------------------------

    def invite(
        self, username: str, token_type: TokenType, *, expires_in: float, reset: bool, now: float
    ) -> str:
        """Make an invitation; return its link token (shown once, stored as a digest).

        Raises:
            ValueError: a bad user name or token type, a new user who exists,
                or a reset for a user who does not.
        """
        if not USER_NAME.fullmatch(username):
            raise ValueError("user names are 1-128 characters of A-Z a-z 0-9 . _ @ + -")
        if token_type.kind != "HOTP":
            raise ValueError("invitations make HOTP or TOTP tokens (Mobile-OTP has no QR code)")
        record = self.store.get(username)
        if reset and record is None:
            raise ValueError(f"no user {username!r} to reset")
        if not reset and record is not None:
            raise ValueError(f"user {username!r} exists; use --reset to replace their token")
        token = invitations.new_token()
        digest = invitations.digest(token)
        # A reset belongs to this very record: removed and added again, or
        # given another token, it is another record and the link is dead.
        bound = invitations.record_binding(record.key, digest) if record is not None else ""
        invitation = Invitation(
            digest, username, token_type, now, now + expires_in, reset=reset, record=bound
        )
        self.store.add_invitation(invitation)
        self._audit(now, username, Event.INVITED, "reset" if reset else "new")
        return token

    def invite_reset(self, username: str, *, expires_in: float, now: float) -> str:
        """A reset invitation for ``username``'s token type, as :meth:`invite` makes it.

        Raises:
            ValueError: the user is gone, or their token has no QR code to
                enrol (Mobile-OTP).
        """
        record = self.store.get(username)
        if record is None:
            raise ValueError("the user is gone")
        return self.invite(username, record.token_type, expires_in=expires_in, reset=True, now=now)

    def revoke(self, username: str, now: float, *, keep: str = "") -> int:
        """Revoke every usable invitation for ``username`` (but the one with digest
        ``keep``); how many there were."""
        done = 0
        for inv in self.store.list_invitations():
            if inv.username != username or inv.digest == keep or not inv.usable(now):
                continue
            if self.store.update_invitation(inv.digest, inv.version, inv.revoked()):
                done += 1
        if done:
            self._audit(now, username, Event.INVITE_REVOKED, str(done))
        return done

    def open(self, token: str, now: float) -> Invitation:
        """The usable invitation behind a link token, if it still fits the store.

        Raises:
            InvitationRefused: unknown, used, revoked or expired; a new
                user's name taken (``exists``); a reset's record gone or
                given another token (``changed``).
        """
        if not invitations.token_shape_ok(token):
            raise InvitationRefused("unknown")
        inv = self.store.get_invitation(invitations.digest(token))
        if inv is None:
            raise InvitationRefused("unknown")
        if inv.status in ("used", "revoked"):
            raise InvitationRefused(inv.status)
        if now >= inv.expires:
            raise InvitationRefused("expired")
        self._target(inv)
        return inv

    def _target(self, inv: Invitation) -> UserRecord | None:
        """The record a reset replaces (``None`` for a new user), if the link still fits.

        Raises:
            InvitationRefused: ``exists`` or ``changed``, as for :meth:`open`.
        """
        record = self.store.get(inv.username)
        if not inv.reset:
            if record is not None:
                raise InvitationRefused("exists")
            return None
        # A reset made before links were bound carries no binding: refused too.
        expected = "" if record is None else invitations.record_binding(record.key, inv.digest)
        if not expected or not hmac.compare_digest(inv.record.encode(), expected.encode()):
            raise InvitationRefused("changed")
        return record

    # -- enrolment ---------------------------------------------------------

    def choose_pin(self, token: str, pin: str, again: str, now: float) -> list[PinProblem]:
        """Check the PIN; if it is fine, make the secret and keep both pending.

        Choosing again (the user went back, or the form was sent twice)
        replaces the PIN but keeps the secret, so a QR code already scanned
        stays good.

        Raises:
            InvitationRefused: the link cannot be used (any more).
        """
        inv = self.open(token, now)
        problems = self.policy.problems(pin, inv.username, again)
        if problems:
            return problems
        self._pending(inv, self._pin(pin))
        return []

    def skip_pin(self, token: str, now: float) -> None:
        """Where no PIN is chosen here (:attr:`asks_pin` false): go straight to the token.

        Raises:
            InvitationRefused: the link cannot be used (any more).
            ValueError: this store keeps PINs: one must be chosen.
        """
        if self.asks_pin:
            raise ValueError("a PIN must be chosen")
        self._pending(self.open(token, now), Pin("none"))

    def keep_pin(self, token: str, now: float) -> None:
        """For a reset: keep the user's current PIN, so nobody types it (twice) again.

        Nothing is gained by holding the link alone: the PIN stays one only
        its owner knows, where choosing a new one is open to any holder.

        Raises:
            InvitationRefused: the link cannot be used, or is not a reset.
        """
        inv = self.open(token, now)
        record = self.store.get(inv.username) if inv.reset else None
        if record is None:
            raise InvitationRefused("unknown")
        self._pending(inv, record.pin)

    def _pending(self, inv: Invitation, pin: Pin) -> None:
        """Keep ``pin`` and the new secret on the invitation (the same secret if it has one)."""
        key = inv.pending_key or new_key(20)
        pending = replace(inv, status="pending", pending_key=key, pending_pin=pin)
        if self.store.update_invitation(inv.digest, inv.version, pending) is None:
            raise InvitationRefused("used")  # changed under us: another tab or a replay

    def confirm(self, token: str, code: str, ip: str, now: float) -> tuple[str, list[str]]:
        """Activate the pending token with a current code; return (user, recovery codes).

        The invitation is marked used first (compare-and-set), so of two
        confirmations only one goes on; then the user is created, or their
        token and PIN replaced, with the code's counter or time step used up.

        Raises:
            InvitationRefused: the link cannot be used (any more).
            WrongCode: the code does not belong to the new token now.
        """
        inv = self.open(token, now)
        if inv.status != "pending" or inv.pending_key is None or inv.pending_pin is None:
            raise WrongCode("no PIN chosen yet")
        try:
            match = verify(Token(inv.token_type, inv.pending_key), TokenState(), code, now=now)
        except (ValueError, OTPGateError):
            raise WrongCode("the code does not match") from None
        if self.store.update_invitation(inv.digest, inv.version, inv.with_status("used")) is None:
            raise InvitationRefused("used")
        state = UserState(token=match.state)
        record = UserRecord(inv.username, inv.token_type, inv.pending_key, inv.pending_pin, state)
        if inv.reset:
            old = self._target(inv)  # again, just before the write
            if old is None:  # not for a reset: _target refuses first
                raise InvitationRefused("changed")
            # An administrator's lock survives a new token; everything else starts afresh,
            # and sessions and lingering logins of the old token end.
            admin_lock = old.state.locked_until
            keep = admin_lock if admin_lock is not None and math.isinf(admin_lock) else None
            state = replace(state, locked_until=keep, revoked_before=now)
            self.store.replace(replace(record, state=state, serial=None))
            event = Event.TOKEN_REPLACED
        else:
            try:
                self.store.add(record)
            except StoreError:
                raise InvitationRefused("exists") from None
            event = Event.ENROLLED
        codes = self._new_codes(inv.username)
        self._audit(now, inv.username, event, str(inv.token_type), ip=ip)
        # The other links of this user were made for a name that is taken now, or
        # for the token just replaced: none of them may enrol again.
        self.revoke(inv.username, now, keep=inv.digest)
        return inv.username, codes

    # -- a signed-in user's own account -----------------------------------

    def change_pin(
        self, username: str, pin: str, again: str, now: float, ip: str | None = None
    ) -> list[PinProblem]:
        """Set a new PIN (the caller has checked the current PIN and a fresh code).

        Sessions issued before ``now`` end, as with ``otpgate user set-pin``.

        Raises:
            StoreError: the store failed, or the user is gone.
        """
        problems = self.policy.problems(pin, username, again)
        if problems:
            return problems
        record = self.store.get(username)
        if record is None:
            raise StoreError(f"no user {username!r}")
        state = replace(record.state, revoked_before=now, last_otp=None)
        self.store.replace(replace(record, pin=self._pin(pin), state=state))
        self._audit(now, username, Event.PIN_CHANGED, ip=ip)
        return []

    def renew_codes(self, username: str, now: float, ip: str | None = None) -> list[str]:
        """New recovery codes, replacing every earlier one."""
        codes = self._new_codes(username)
        self._audit(now, username, Event.RECOVERY_RENEWED, ip=ip)
        return codes

    def audit(self, now: float, user: str, event: Event, ip: str | None = None) -> None:
        """Record an event the caller carried out (a session created)."""
        self._audit(now, user, event, ip=ip)

    # -- helpers -----------------------------------------------------------

    def _pin(self, text: str) -> Pin:
        return Pin("plain", text) if self._plain_pins else Pin("hash", self._hasher.hash(text))

    def _new_codes(self, username: str) -> list[str]:
        codes = recovery.generate(RECOVERY_CODES)
        self.store.set_recovery_codes(username, [recovery.digest(username, c) for c in codes])
        return codes

    def _audit(
        self, now: float, user: str, event: Event, detail: str | None = None, ip: str | None = None
    ) -> None:
        if self._audit_log is not None:
            self._audit_log.write(
                now, user=user, ip=ip, result="accept", reason=str(event), detail=detail
            )
