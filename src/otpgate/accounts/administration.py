"""Administrative actions on users, without HTTP: each one audited with who, where and what.

The admin pages and the admin commands call this layer, so an action is the
same change and leaves the same audit line whether it came from a browser or
a terminal.  Proving that the actor may act (an administrator's session and a
fresh code, or a shell on the server) is the caller's job.  An audit line
names the actor, the channel (``web``/``cli``), the actor's address, the
action and what changed; never a key, PIN, code or link token.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from ..errors import OTPGateError, StoreError, UnknownUser, VerificationError
from ..login import recovery
from ..otp.verify import Policy, resync
from ..store.query import Role, UserFilter, check_role
from ..store.records import UserRecord, UserState
from .authenticators import remove_authenticator

if TYPE_CHECKING:
    from ..audit.writer import AuditLog
    from ..otp.tokens import TokenType
    from ..store.base import AdminStore
    from ..store.invitations import Invitation
    from .selfservice import SelfService

__all__ = ["Actor", "Administration", "CannotResync"]

_RETRIES: Final = 10


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an administrator's name, the channel, and their address (web)."""

    name: str
    via: str
    ip: str | None = None


class CannotResync(OTPGateError):
    """The two codes are not consecutive codes of the user's token."""


class Administration:
    """The actions an administrator takes on users.

    Args:
        store: where users live.
        audit: where every action is recorded, or ``None``.
        selfservice: makes invitation links (invite and reset).
        policy: the verification policy (resync windows).
    """

    def __init__(
        self,
        store: AdminStore,
        audit: AuditLog | None,
        selfservice: SelfService | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.selfservice = selfservice
        self.policy = policy or Policy()

    def record(
        self,
        actor: Actor,
        action: str,
        user: str | None,
        now: float,
        *,
        detail: str | None = None,
        result: str = "ok",
    ) -> None:
        """Write the audit line for an action (also for actions done elsewhere, e.g. ``add``)."""
        if self.audit is not None:
            self.audit.admin(
                now,
                actor=actor.name,
                via=actor.via,
                action=action,
                user=user,
                ip=actor.ip,
                result=result,
                detail=detail,
            )

    # -- reading: the users an administrator sees -------------------------------------
    # (A user directory such as LDAP joins the store's users here.)

    def users(
        self, prefix: str, *, after: str | None, limit: int, filters: UserFilter
    ) -> list[UserRecord]:
        """A keyset page of users whose name starts with ``prefix``, after ``after``."""
        return list(self.store.list_users(prefix, after=after, limit=limit, filters=filters))

    def invited(self, prefix: str, *, after: str, limit: int, now: float) -> dict[str, float]:
        """New users with an open link (not enrolled yet), in name order: when it expires.

        Not users of the store yet, so not in :meth:`users`; the latest link counts.
        """
        pending: dict[str, float] = {}
        for inv in self.store.list_invitations():
            if inv.reset or not inv.usable(now) or not inv.username.startswith(prefix):
                continue
            if inv.username > after:
                pending[inv.username] = max(pending.get(inv.username, 0.0), inv.expires)
        return {name: pending[name] for name in sorted(pending)[:limit]}

    def open_links(self, user: str | None, now: float) -> list[Invitation]:
        """The usable links of ``user`` (``None``: every user's new-user links)."""
        return [
            i
            for i in self.store.list_invitations()
            if i.usable(now) and (i.username == user if user is not None else not i.reset)
        ]

    # -- state changes ---------------------------------------------------------------

    def _update(self, user: str, change: Callable[[UserState], UserState]) -> UserRecord:
        """Compare-and-set ``change`` on the user's state, retrying if a login got there first."""
        for _ in range(_RETRIES):
            record = self.store.get(user)
            if record is None:
                raise UnknownUser(user)
            new = self.store.compare_and_set(user, record.version, change(record.state))
            if new is not None:
                return new
        raise StoreError(f"user {user!r} keeps changing; try again")

    def lock(self, actor: Actor, user: str, now: float) -> None:
        """Lock until unlocked; ends the user's sessions and lingering logins."""
        self._update(user, lambda s: replace(s, locked_until=math.inf, revoked_before=now))
        self.record(actor, "lock", user, now, detail="locked; sessions revoked")

    def unlock(self, actor: Actor, user: str, now: float) -> None:
        """Lift any lock (an administrator's or the failure limit's) and clear the failures."""
        old: list[UserState] = []

        def change(s: UserState) -> UserState:
            old.append(s)
            return replace(s, locked_until=None, failures=0)

        self._update(user, change)
        self.record(actor, "unlock", user, now, detail=f"failures {old[-1].failures} -> 0")

    def resync(self, actor: Actor, user: str, code1: str, code2: str, now: float) -> None:
        """Re-anchor the token from two consecutive codes.

        Raises:
            CannotResync: the codes do not follow each other in the wide window,
                or the user holds no OTP token.
            UnknownUser: no such user.
        """
        for _ in range(_RETRIES):
            record = self.store.get(user)
            if record is None:
                raise UnknownUser(user)
            if not record.has_token:
                raise CannotResync("the user holds no OTP token (passkeys only): nothing to resync")
            pin = record.pin.value if record.token_type.kind == "MOTP" else ""
            try:
                match = resync(
                    record.token(),
                    record.state.token,
                    code1,
                    code2,
                    now=now,
                    policy=self.policy,
                    pin=pin,
                )
            except VerificationError:
                self.record(
                    actor, "resync", user, now, result="refused", detail="codes not consecutive"
                )
                raise CannotResync(
                    "the two codes are not consecutive codes of this token"
                ) from None
            state = replace(record.state, token=match.state, failures=0)
            if self.store.compare_and_set(user, record.version, state) is not None:
                what = "counter" if record.token_type.is_event else "drift"
                self.record(
                    actor,
                    "resync",
                    user,
                    now,
                    detail=f"{what} {record.state.token.counter} -> {match.state.counter}",
                )
                return
        raise StoreError(f"user {user!r} keeps changing; try again")

    def remove(self, actor: Actor, user: str, now: float) -> None:
        """Delete the user, their token, recovery codes and role.  Raises UnknownUser."""
        if not self.store.remove(user):
            raise UnknownUser(user)
        self.record(actor, "remove", user, now)

    def remove_token(self, actor: Actor, user: str, token_id: str, now: float) -> None:
        """Remove one of the user's authenticators, an OTP token or a passkey (never the last).

        Raises:
            UnknownUser: no such user, or no such token or passkey of theirs.
            LastAuthenticator: it is the user's last authenticator, of any kind.
        """
        kind = remove_authenticator(self.store, user, token_id)
        if kind is None:
            raise UnknownUser(user)
        self.record(actor, "remove_token", user, now, detail=f"{kind} {token_id}")

    def recovery_codes(self, actor: Actor, user: str, now: float, n: int = 10) -> list[str]:
        """New recovery codes (returned once, stored as digests); earlier ones stop working."""
        codes = recovery.generate(n)
        self.store.set_recovery_codes(user, [recovery.digest(user, c) for c in codes])
        self.record(actor, "recovery_codes", user, now, detail=f"{n} new codes; earlier ones void")
        return codes

    def set_role(self, actor: Actor, user: str, role: str, now: float) -> None:
        """Make ``user`` an ``admin`` or a ``user``.  Raises UnknownUser, ValueError."""
        new: Role = check_role(role)
        old = self.store.get_role(user)
        self.store.set_role(user, new)
        self.record(actor, "set_role", user, now, detail=f"{old} -> {new}")

    def invite(
        self,
        actor: Actor,
        user: str,
        token_type: TokenType,
        *,
        expires_in: float,
        reset: bool,
        now: float,
    ) -> str:
        """An enrolment link token for a new user, or to replace a user's token (reset).

        Raises:
            ValueError: as :meth:`otpgate.accounts.selfservice.SelfService.invite`.
        """
        if self.selfservice is None:
            raise ValueError("invitations are not set up")
        token = self.selfservice.invite(
            user, token_type, expires_in=expires_in, reset=reset, now=now
        )
        hours = round(expires_in / 3600, 1)
        self.record(
            actor,
            "reset" if reset else "invite",
            user,
            now,
            detail=f"{token_type} link, valid {hours:g} h",
        )
        return token

    def revoke_invitations(self, actor: Actor, user: str, now: float) -> int:
        """Revoke the user's open links; how many there were."""
        if self.selfservice is None:
            return 0
        done = self.selfservice.revoke(user, now)
        self.record(actor, "revoke_invitations", user, now, detail=f"{done} revoked")
        return done
