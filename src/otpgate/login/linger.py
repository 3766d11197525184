"""What one process remembers between logins: lingering credentials and recent reads.

Two bounded tables, both in memory only and keyed with an HMAC key: random
per process (so nothing in them is useful outside the process), or, when
gates share known credentials (:mod:`otpgate.state.credentials`), one derived
key common to them all:

* lingering credentials: the keyed digest of user + password that was
  accepted, with its first and last use, the client address and a
  fingerprint of the user's key, PIN, token and token state.  An
  administrator's change to any of those, or another code used since,
  changes the fingerprint and ends the linger.
* snapshots: the last store read per user and when it was made, so that a
  lingering credential, a lock or a logout is answered without a store read
  for ``state_ttl`` seconds, and only while the store's stamp
  (:meth:`~otpgate.store.base.Store.stamp`: a users file's inode, size and
  time) is the one taken before that read: a change by another tool is seen
  at the next request.

And, per user, the highest time step this process read for the user's
token, which a record read later never moves back (:meth:`LingerMemory.no_step_back`).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..config.auth import AuthSettings
from ..otp.algorithms import HmacKey
from ..state.credentials import KnownCredential
from ..store.records import UserRecord
from .pins import encode_secret
from .user_state import locked

__all__ = ["LingerMemory", "Snapshot"]


@dataclass(slots=True)
class _Entry:
    user: str
    first_use: float
    last_use: float
    ip: str
    fingerprint: bytes


@dataclass(slots=True)
class Snapshot:
    """A store read: the record (``None``: no such user), when, its fingerprint,
    and the store's stamp taken before the read."""

    record: UserRecord | None
    fetched: float
    fingerprint: bytes = field(default=b"")
    stamp: object = None


class LingerMemory:
    """Lingering credentials and recent store reads of one Authenticator; thread-safe.

    Args:
        settings: the linger windows, ``cache_size`` and ``state_ttl``.
        key: the digest key common to gates sharing known credentials
            (default: random, this process only).
        stamp: the store's :meth:`~otpgate.store.base.Store.stamp`.
    """

    def __init__(
        self,
        settings: AuthSettings,
        key: bytes | None = None,
        stamp: Callable[[], object] = lambda: None,
    ) -> None:
        self.settings = settings
        self.stamp = stamp
        # Without a common key, a random one: cached digests mean nothing elsewhere.
        self.mac = HmacKey(key or secrets.token_bytes(32), "SHA256")
        self._lock = threading.Lock()
        self._lingering: OrderedDict[bytes, _Entry] = OrderedDict()
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        # user -> (the token's fingerprint without its state, the highest step read)
        self._steps: OrderedDict[str, tuple[bytes, int]] = OrderedDict()

    def digest(self, user: str, password: str) -> bytes:
        """The key of a credential (computed once per attempt, see ``Attempt``)."""
        u = encode_secret(user)
        return self.mac.digest(len(u).to_bytes(4, "big") + u + encode_secret(password))

    def fingerprint(self, record: UserRecord) -> bytes:
        """Changes when the user's key, PIN, token or token state changes.

        The token state (counter or last step, drift) moves with every code
        used, in any process, and when an administrator resets or resyncs
        the token, also by editing the users file: a credential accepted
        before such a change does not linger past it (as the reference
        module lingers only the last code used).  A failure count or a
        lock does not change it.
        """
        token = record.state.token
        parts = (
            record.key,
            encode_secret(record.pin.kind),
            encode_secret(record.pin.value),
            encode_secret(str(record.token_type)),
            encode_secret(record.serial or ""),
            encode_secret(repr((token.counter, token.last_step))),
        )
        return self.mac.digest(b"fp\0" + b"\0".join(len(p).to_bytes(4, "big") + p for p in parts))

    # -- store reads ------------------------------------------------------

    def remember(
        self, user: str, record: UserRecord | None, now: float, stamp: object = None
    ) -> Snapshot:
        """Keep a store read of ``user`` (``None``: no such user).

        ``stamp``: the store's stamp taken before the read (or the write).
        """
        snap = Snapshot(record, now, self.fingerprint(record) if record is not None else b"", stamp)
        bound = max(self.settings.cache_size, 1)
        with self._lock:
            self._snapshots[user] = snap
            self._snapshots.move_to_end(user)
            while len(self._snapshots) > bound:
                self._snapshots.popitem(last=False)
            step = record.state.token.last_step if record is not None else None
            if record is not None and step is not None:
                token = self._token(record)
                seen = self._steps.get(user)
                if seen is None or seen[0] != token or seen[1] < step:
                    self._steps[user] = (token, step)
                self._steps.move_to_end(user)
                while len(self._steps) > bound:
                    self._steps.popitem(last=False)
        return snap

    def snapshot(self, user: str, now: float) -> Snapshot | None:
        """The last read of ``user`` if younger than ``state_ttl`` and the store
        unchanged since (its stamp), else ``None``."""
        with self._lock:
            snap = self._snapshots.get(user)
        if snap is None or not 0 <= now - snap.fetched < self.settings.state_ttl:
            return None
        if snap.stamp != self.stamp():
            return None  # changed since the read, maybe by another tool: read again
        return snap

    def no_step_back(self, record: UserRecord) -> UserRecord:
        """The record, its last time step no lower than one read before for the same token.

        On a users file shared with mod_authn_otp the step read from a line can
        move back: the module remembers the last code, not its step, so it
        accepts an older code than the last one used and writes its drift, from
        which the older step is read.  A code of any step read before here
        stays used.  (A token reset or a new key is another token: no floor.)
        """
        step = record.state.token.last_step
        with self._lock:
            seen = self._steps.get(record.username)
        if seen is None or (step is not None and step >= seen[1]):
            return record
        if seen[0] != self._token(record):
            return record
        token = replace(record.state.token, last_step=seen[1])
        return replace(record, state=replace(record.state, token=token))

    def _token(self, record: UserRecord) -> bytes:
        """The token without its state: key and type."""
        kind = encode_secret(str(record.token_type))
        return self.mac.digest(b"token\0" + len(kind).to_bytes(4, "big") + kind + record.key)

    # -- lingering credentials --------------------------------------------

    def knows(self, key: bytes) -> bool:
        """Whether a credential is remembered at all (alive or not)."""
        with self._lock:
            return bool(key) and key in self._lingering

    def add(
        self, key: bytes, user: str, ip: str, record: UserRecord, now: float, first_use: float
    ) -> None:
        """Remember an accepted credential; its window runs from ``first_use``."""
        s = self.settings
        if not key or not s.lingering or s.cache_size == 0:
            return
        entry = _Entry(user, min(first_use, now), now, ip, self.fingerprint(record))
        with self._lock:
            old = self._lingering.get(key)
            if old is not None and old.user == user and old.fingerprint == entry.fingerprint:
                # A re-use keeps its first-use time (the fixed linger window).
                entry.first_use = old.first_use
            self._lingering[key] = entry
            self._lingering.move_to_end(key)
            while len(self._lingering) > s.cache_size:
                self._lingering.popitem(last=False)

    def known(self, key: bytes) -> KnownCredential | None:
        """A remembered credential as other processes may take it over."""
        with self._lock:
            e = self._lingering.get(key) if key else None
            return None if e is None else KnownCredential(e.user, e.first_use, e.ip, e.fingerprint)

    def adopt(self, key: bytes, known: KnownCredential) -> None:
        """Take over a credential another process accepted (its window and fingerprint).

        Idle time here counts from the first use; after that the store's
        last use (written every ``max_idle / 16`` s, :func:`otpgate.login.user_state.idle_use`)
        decides, through the stored last OTP.
        """
        if not key or self.settings.cache_size == 0:
            return
        entry = _Entry(known.user, known.first_use, known.first_use, known.ip, known.fingerprint)
        with self._lock:
            self._lingering[key] = entry
            self._lingering.move_to_end(key)
            while len(self._lingering) > self.settings.cache_size:
                self._lingering.popitem(last=False)

    def hit(self, key: bytes, user: str, ip: str, snap: Snapshot, now: float) -> bool:
        """Whether the credential lingers for ``user`` at ``ip``, given a store read.

        A hit slides the idle window; a credential that can never linger
        again (expired, changed by an administrator, logged out) is dropped.
        """
        s = self.settings
        record = snap.record
        with self._lock:
            entry = self._lingering.get(key)
            if entry is None or entry.user != user:
                return False
            if s.max_idle is not None:
                alive = 0 <= now - entry.last_use < s.max_idle
            else:
                alive = 0 <= now - entry.first_use < s.max_linger
            if not alive or record is None or snap.fingerprint != entry.fingerprint:
                del self._lingering[key]
                return False
            if locked(record.state, now):
                return False  # kept: an automatic lock lifts itself
            revoked = record.state.revoked_before
            if revoked is not None and entry.first_use < revoked:
                del self._lingering[key]
                return False
            if s.logout_on_ip_change and ip != entry.ip:
                return False
            entry.last_use = now
            self._lingering.move_to_end(key)
            return True

    def forget(self, user: str) -> None:
        """Drop the user's lingering credentials and store read (a logout)."""
        with self._lock:
            for key in [k for k, e in self._lingering.items() if e.user == user]:
                del self._lingering[key]
            self._snapshots.pop(user, None)

    def clear(self) -> None:
        with self._lock:
            self._lingering.clear()
            self._snapshots.clear()  # the steps stay: a floor is never wrong
