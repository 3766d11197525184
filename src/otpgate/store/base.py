"""The store contract, one protocol per idea; :class:`Store` is every one of them.

A caller names the narrowest protocol it uses, so a new backend (a user
directory, say) or a new kind of record (several authenticators per user)
finds its room without touching the rest:

* :class:`UserStore`: users and the state logins write (compare-and-set).
* :class:`TokenStore`: a user's several OTP tokens (add, rename, remove).
* :class:`RecoveryCodeStore`: the single-use codes of a user who lost the token.
* :class:`InvitationStore`: enrolment links.
* :class:`DirectoryStore`: the user list, its counts, and roles.
* :class:`StoreLifecycle`: is it reachable, and releasing it.
* :class:`KeyRotation`: re-encrypting the OTP keys (the SQL stores only).

The combinations its callers need are named once here too (:class:`LoginStore`,
:class:`SelfServiceStore`, :class:`AdminStore`).  ``tests/store/contract/``
tests each protocol, one module per protocol, against every backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol, runtime_checkable

from .._limits import has_control
from ..errors import StoreError
from .authenticators import OtpToken, check_token_name, new_token_id
from .invitations import Invitation
from .query import Role, UserFilter
from .records import UserRecord, UserState

__all__ = [
    "AdminStore",
    "DirectoryStore",
    "InvitationStore",
    "KeyRotation",
    "LoginStore",
    "RecoveryCodeStore",
    "SelfServiceStore",
    "Store",
    "StoreLifecycle",
    "TokenStore",
    "UserStore",
    "check_serial",
    "new_token",
    "stamped",
]


def check_serial(record: UserRecord) -> None:
    """Refuse a serial with control characters (:data:`otpgate._limits.CONTROL`).

    A serial is shown by ``user show``/``list`` and written to the audit log;
    a newline or a terminal escape in it would forge lines or take over the
    administrator's terminal.  Every store calls this before it writes.

    Raises:
        StoreError: the serial holds a control character (shown escaped).
    """
    for token in record.tokens():
        if token.serial is not None and has_control(token.serial):
            raise StoreError(
                f"the token serial of {record.username!r} must not hold control characters: "
                f"{token.serial!r}"
            )
        try:
            check_token_name(token.meta.name)
        except ValueError as exc:
            raise StoreError(f"{record.username!r}: {exc}") from None


def new_token(token: OtpToken, taken: Callable[[str], bool], now: float | None = None) -> OtpToken:
    """``token`` with an id and a creation time, where it lacks them.

    An id ``taken`` (another user's: a record copied under a new name) is
    replaced by a fresh one.
    """
    meta = token.meta
    token_id = "" if meta.id and taken(meta.id) else meta.id
    while not token_id:
        candidate = new_token_id()
        token_id = "" if taken(candidate) else candidate
    created = meta.created or (time.time() if now is None else now)
    return replace(token, meta=replace(meta, id=token_id, created=created))


def stamped(record: UserRecord, taken: Callable[[str], bool]) -> UserRecord:
    """``record`` with an id and a creation time for each token that lacks them (add, replace).

    Ids are unique in the store: one ``taken`` by another user, or repeated in
    the record, is replaced by a fresh one.
    """
    seen: set[str] = set()
    out = []
    for token in record.tokens():
        token = new_token(token, lambda i: i in seen or taken(i))
        seen.add(token.meta.id)
        out.append(token)
    return record.with_tokens(out)


@runtime_checkable
class UserStore(Protocol):
    """Users, their tokens and the state logins change.

    Logins read a record with :meth:`get`, decide with the pure rules in
    :mod:`otpgate.otp.verify`, and write the new state with
    :meth:`compare_and_set`, which succeeds only if nobody changed the record
    in between; so two logins with one code can never both win.
    """

    url: str

    def get(self, username: str) -> UserRecord | None:
        """The record, or ``None``.  Raises StoreError if the store is unreadable."""

    def otp_tag(self, username: str, otp: str) -> str:
        """How the store keeps ``otp`` as a user's ``last_otp``.

        The SQL stores keep a keyed digest (HMAC under the key file), so that
        database access alone does not give the code while it lingers; the
        users file keeps the code itself (the reference format).  Callers
        compare ``otp_tag(user, otp)`` with ``state.last_otp``, in constant time.
        """

    def stamp(self) -> object:
        """A token that changes whenever any record may have changed; ``None``: none.

        It must cost no read (a file's inode, size and modification time): a
        lingering credential is accepted from a recent read only while the
        stamp is the one taken before that read, so a change made by another
        tool is seen at the next request, not after ``state_ttl``.  A store
        with no such token returns ``None``, and a read stands for ``state_ttl``.
        """

    def add(self, record: UserRecord) -> None:
        """Create a user.  Raises StoreError if the name is taken."""

    def replace(self, record: UserRecord) -> None:
        """Overwrite a user's type, key, PIN, serial and state (admin commands).

        Raises UnknownUser if there is no such user.
        """

    def remove(self, username: str) -> bool:
        """Delete a user; ``False`` if there was none.

        Whatever else the store keeps of the user goes with them: recovery
        codes and role.  The name's live invitations are revoked with it (also
        when there was no user: a link for a name being removed must not
        create it), their pending secrets and PINs dropped.
        """

    def compare_and_set(
        self,
        username: str,
        expected_version: object,
        state: UserState,
        token: OtpToken | None = None,
    ) -> UserRecord | None:
        """Write ``state`` if the record still has ``expected_version``.

        ``token``: the token a code matched, with its new state, last code
        and last use, written in the same step (the user's first token's
        state is ``state.token`` either way).  A token the user no longer
        has makes it fail like a changed version.

        Returns the new record (with its new version), or ``None`` if the record
        changed or vanished meanwhile, or ``expected_version`` is no version
        this store makes.  Raises StoreError if the write failed; the caller
        must then deny the login.
        """


@runtime_checkable
class TokenStore(Protocol):
    """A user's OTP tokens: added, renamed, removed one by one.

    Each change gives the user's record a new version, so a login decided on
    the record as it was (a code of a token just removed) cannot be written.
    """

    def add_token(self, username: str, token: OtpToken) -> OtpToken:
        """Add a token; returns it as kept (with its id and creation time).

        Raises:
            UnknownUser: no such user.
            StoreError: the store cannot hold another token (the users file).
        """

    def rename_token(self, username: str, token_id: str, name: str) -> bool:
        """Give a token a new name; ``False`` if the user has no such token.

        Raises:
            StoreError: the name is not allowed, or the store keeps no names.
        """

    def remove_token(self, username: str, token_id: str) -> bool:
        """Remove a token; ``False`` if the user has no such token.

        Removing the only token of a user who has a passkey is allowed: their
        record then holds no OTP token (they sign in with the passkey).

        Raises:
            LastAuthenticator: it is the user's last authenticator, counting
                their passkeys too; checked in the same locked transaction
                as the removal, so two removals at once never leave none.
        """


@runtime_checkable
class RecoveryCodeStore(Protocol):
    """A user's recovery codes, kept as digests; each one works once."""

    def set_recovery_codes(self, username: str, digests: list[str]) -> None:
        """Replace the user's recovery codes with these digests.

        Raises UnknownUser if there is no such user.
        """

    def consume_recovery_code(self, username: str, digest: str) -> bool:
        """Atomically delete one recovery code; ``True`` if it existed.

        The user's record (and its compare-and-set version) stays as it is.
        """

    def count_recovery_codes(self, username: str) -> int:
        """How many unused recovery codes the user has (0 for an unknown user)."""


@runtime_checkable
class InvitationStore(Protocol):
    """Enrolment links (:mod:`otpgate.store.invitations`), found by their token's digest."""

    def add_invitation(self, invitation: Invitation) -> None:
        """Keep a new invitation.  Raises StoreError if its digest is taken."""

    def get_invitation(self, digest: str) -> Invitation | None:
        """The invitation with this token digest, or ``None``."""

    def list_invitations(self) -> list[Invitation]:
        """Every invitation, oldest first."""

    def update_invitation(
        self, digest: str, expected_version: object, invitation: Invitation
    ) -> Invitation | None:
        """Write ``invitation``'s status and pending key and PIN, if unchanged meanwhile.

        Compare-and-set, as for users: of two confirmations of one link only
        one succeeds.  Returns the new invitation or ``None``.
        """


@runtime_checkable
class DirectoryStore(Protocol):
    """Who the users are, page by page, how many are in which state, and their roles."""

    def list_users(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int | None = None,
        filters: UserFilter | None = None,
    ) -> Iterator[UserRecord]:
        """Records in name order (code point order): all, or one page.

        Args:
            prefix: only names starting with this.
            after: only names sorting after this (the last name of the previous page).
            limit: at most this many (1 to :data:`~otpgate.store.query.MAX_PAGE`),
                or ``None`` for every match.
            filters: conditions every record returned meets.

        Raises:
            ValueError: a limit out of range, a NUL in ``prefix`` or ``after``.
        """

    def count_users(self, now: float) -> dict[str, int]:
        """Users by state: ``total``, ``locked``, ``throttled``, ``never_signed_in``."""

    def get_role(self, username: str) -> Role:
        """``admin`` or ``user`` (also for a name the store does not know)."""

    def set_role(self, username: str, role: Role) -> None:
        """Make the user an administrator or a user.  Raises UnknownUser if there is none."""


@runtime_checkable
class StoreLifecycle(Protocol):
    """A store as a resource: whether it answers, and letting it go."""

    def ping(self) -> None:
        """Raise StoreError if the store is unreachable."""

    def close(self) -> None:
        """Release connections and locks."""


@runtime_checkable
class KeyRotation(Protocol):
    """A store that keeps OTP keys encrypted under a key file (the SQL stores)."""

    def reencrypt_keys(self) -> int:
        """Re-encrypt every OTP key made with an older key-file key; how many were.

        Raises:
            StoreError: a key does not decrypt, or the store failed.
        """


@runtime_checkable
class Store(
    UserStore,
    TokenStore,
    RecoveryCodeStore,
    InvitationStore,
    DirectoryStore,
    StoreLifecycle,
    Protocol,
):
    """Every protocol above: what a backend implements, for code that needs it all."""


@runtime_checkable
class LoginStore(UserStore, RecoveryCodeStore, Protocol):
    """What a login reads and writes: the user's record and recovery codes."""


@runtime_checkable
class SelfServiceStore(UserStore, TokenStore, RecoveryCodeStore, InvitationStore, Protocol):
    """What a user changes alone: enrolment by invitation, their PIN, new recovery codes."""


@runtime_checkable
class AdminStore(
    UserStore, TokenStore, RecoveryCodeStore, InvitationStore, DirectoryStore, Protocol
):
    """What an administrator sees and changes: users, their codes, links and roles."""
