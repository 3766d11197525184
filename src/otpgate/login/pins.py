"""PINs: argon2id hashing, constant-time comparison, delegated checkers.

A PIN is only ever checked after the one-time password matched (see
:mod:`otpgate.login.authenticator`), so the slow hash is paid for correct OTPs, not for
guesses.  Delegated (``+``) PINs go to a :class:`PinChecker`; an htpasswd file
checker ships here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ConfigError

try:
    import bcrypt
except ImportError:  # the optional extra otpgate[htpasswd-bcrypt]; checked when a file needs it
    bcrypt = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..store.records import Pin

__all__ = [
    "FAST_TEST_HASHER",
    "HASH_SLOTS_ENV",
    "HtpasswdChecker",
    "PinChecker",
    "PinHasher",
    "apr1_md5",
    "check_pin",
    "encode_secret",
    "hash_slots",
    "pins_equal",
    "usable_cpus",
]

log = logging.getLogger(__name__)

_BCRYPT_PREFIXES: Final = ("$2y$", "$2b$", "$2a$")


# How many PIN hashes this process runs at once; ``otpgate serve --workers N``
# sets it to the usable CPUs divided among the workers.
HASH_SLOTS_ENV: Final = "OTPGATE_HASH_SLOTS"


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def hash_slots(env: Mapping[str, str] = os.environ) -> int:
    """``$OTPGATE_HASH_SLOTS`` when it is a whole number from 1 up, else the usable CPUs."""
    text = env.get(HASH_SLOTS_ENV, "")
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else usable_cpus()


# argon2 is CPU-bound and runs outside the GIL, so the web front end's thread
# pool can run dozens of hashes at once; more than one per CPU only queue in
# the scheduler (no more logins per second) while each holds its memory_cost
# for the whole time (docs/benchmarks.md, "Change 1", has the measurements).
# Hashes wait for a slot instead: one per CPU for the whole host, shared among
# serve's workers (so N workers do not run N hashes per CPU).
_HASH_SLOTS: Final = threading.BoundedSemaphore(hash_slots())


def encode_secret(text: str) -> bytes:
    """UTF-8 bytes of a secret typed by a user.

    ``surrogatepass`` because front ends may hand over strings decoded with
    ``surrogateescape`` (odd bytes in an HTTP header); such a string must be
    rejected by comparison, not crash the encoder.
    """
    return text.encode("utf-8", "surrogatepass")


def pins_equal(expected: str, given: str) -> bool:
    """Constant-time comparison of two PINs (any Unicode, odd bytes allowed)."""
    return hmac.compare_digest(encode_secret(expected), encode_secret(given))


@dataclass(frozen=True, slots=True)
class PinHasher:
    """argon2id with configurable cost.

    The default is OWASP's minimum for argon2id (t=2, 19 MiB, p=1), not
    argon2-cffi's RFC 9106 profile (t=3, 64 MiB, p=4).  A PIN is hashed only
    after the OTP in the same password matched, so the hash is never the
    online guessing barrier; offline, a 4-8 digit PIN falls to any affordable
    cost anyway, and the token keys it would unlock are encrypted with a
    separate key file.  The higher cost bought nothing but capacity lost
    (fresh logins per second and memory per hash in flight: docs/benchmarks.md,
    part 3).  Verification reads the cost from the stored hash, so existing
    hashes keep working.
    """

    time_cost: int = 2
    memory_cost: int = 19 * 1024  # KiB
    parallelism: int = 1

    def _hasher(self) -> argon2.PasswordHasher:
        return argon2.PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, pin: str) -> str:
        """An argon2id hash string (``$argon2id$v=19$...``) with a random salt."""
        with _HASH_SLOTS:
            return self._hasher().hash(encode_secret(pin))

    def verify(self, stored: str, pin: str) -> bool:
        """Whether ``pin`` matches the stored hash; a malformed hash never matches."""
        try:
            with _HASH_SLOTS:
                return bool(self._hasher().verify(stored, encode_secret(pin)))
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError) as exc:
            log.error("unusable PIN hash in the store: %s", exc.__class__.__name__)
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher().check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True


# For tests only: the cheapest argon2id cost.
FAST_TEST_HASHER: Final = PinHasher(time_cost=1, memory_cost=8, parallelism=1)


@runtime_checkable
class PinChecker(Protocol):
    """Checks delegated (``+``) PINs.

    ``check`` returns ``True`` or ``False``, or ``None`` if the user is unknown
    to this checker (the login is then refused).
    """

    def check(self, user: str, pin: str) -> bool | None: ...


def check_pin(
    stored: Pin, user: str, pin: str, hasher: PinHasher, checker: PinChecker | None
) -> bool:
    """Whether ``pin`` is the user's PIN, whatever kind of PIN is stored.

    Plain PINs compare in constant time, hashed ones cost an argon2id hash,
    delegated ones ask ``checker``.  A missing or failing checker denies.
    """
    if stored.kind == "none":
        return pin == ""
    if stored.kind == "plain":
        return pins_equal(stored.value, pin)
    if stored.kind == "hash":
        return hasher.verify(stored.value, pin)
    if checker is None:
        log.error("user %r has a delegated PIN but no PIN checker is configured", user)
        return False
    try:
        return checker.check(user, pin) is True
    except Exception:  # a broken checker must deny, not crash the gate
        log.exception("the PIN checker failed")
        return False


_APR1_ALPHABET: Final = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(_APR1_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(out)


def apr1_md5(password: bytes, salt: bytes, magic: bytes = b"$apr1$") -> str:
    """Apache's ``$apr1$`` MD5-crypt (htpasswd -m), as in APR's apr_md5.c."""
    salt = salt[:8]
    ctx = hashlib.md5(password + magic + salt, usedforsecurity=False)
    alt = hashlib.md5(password + salt + password, usedforsecurity=False).digest()
    for i in range(len(password), 0, -16):
        ctx.update(alt[: min(i, 16)])
    i = len(password)
    while i:
        ctx.update(b"\0" if i & 1 else password[:1])
        i >>= 1
    final = ctx.digest()
    for i in range(1000):
        ctx2 = hashlib.md5(usedforsecurity=False)
        ctx2.update(password if i & 1 else final)
        if i % 3:
            ctx2.update(salt)
        if i % 7:
            ctx2.update(password)
        ctx2.update(final if i & 1 else password)
        final = ctx2.digest()
    f = final
    encoded = (
        _to64((f[0] << 16) | (f[6] << 8) | f[12], 4)
        + _to64((f[1] << 16) | (f[7] << 8) | f[13], 4)
        + _to64((f[2] << 16) | (f[8] << 8) | f[14], 4)
        + _to64((f[3] << 16) | (f[9] << 8) | f[15], 4)
        + _to64((f[4] << 16) | (f[10] << 8) | f[5], 4)
        + _to64(f[11], 2)
    )
    return f"{magic.decode()}{salt.decode('ascii', 'replace')}${encoded}"


def _check_htpasswd_hash(stored: str, pin: str) -> bool:
    secret = encode_secret(pin)
    if stored.startswith(_BCRYPT_PREFIXES):
        if bcrypt is None:  # refused when the file was read; never a match
            return False
        # bcrypt only reads 72 bytes; longer inputs are an error in bcrypt>=5.
        candidate = "$2b$" + stored[4:]
        try:
            return bool(bcrypt.checkpw(secret[:72], candidate.encode("ascii")))
        except ValueError:
            return False
    if stored.startswith("{SHA}"):
        digest = base64.b64encode(hashlib.sha1(secret, usedforsecurity=False).digest()).decode()
        return hmac.compare_digest(digest, stored[5:])
    if stored.startswith("$apr1$"):
        parts = stored.split("$")
        if len(parts) != 4:
            return False
        computed = apr1_md5(secret, parts[2].encode("ascii", "replace"))
        return hmac.compare_digest(computed.encode(), stored.encode("ascii", "replace"))
    if stored.startswith("$argon2"):
        return PinHasher().verify(stored, pin)
    # crypt(3) DES and plain text entries are refused: too weak to honour.
    return False


class HtpasswdChecker:
    """Checks delegated PINs against an Apache htpasswd file.

    Supports bcrypt (``$2y$``, needs the ``bcrypt`` package: the extra
    ``otpgate[htpasswd-bcrypt]``), ``$apr1$`` MD5, ``{SHA}`` and argon2 entries;
    DES crypt and plain-text entries never match.  The file is re-read when its
    modification time or size changes.

    Raises:
        OSError: the file cannot be read.
        ConfigError: it has bcrypt entries and the bcrypt package is missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        """Re-read the file if it changed.

        Raises:
            OSError: the file cannot be read.
            ConfigError: bcrypt entries without the bcrypt package.
        """
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp == self._stamp:
                return
        entries: dict[str, str] = {}
        text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or ":" not in line:
                continue
            user, _, stored = line.partition(":")
            entries.setdefault(user, stored.split(":", 1)[0])
        if bcrypt is None and any(v.startswith(_BCRYPT_PREFIXES) for v in entries.values()):
            # Refusing every such user quietly would look like wrong PINs.
            raise ConfigError(
                f"htpasswd file {self.path} has bcrypt entries ($2y$), which need the bcrypt "
                "package: pip install 'otpgate[htpasswd-bcrypt]'"
            )
        with self._lock:
            self._entries = entries
            self._stamp = stamp

    def check(self, user: str, pin: str) -> bool | None:
        try:
            self._load()
        except OSError as exc:
            log.error("cannot read htpasswd file %s: %s", self.path, exc.strerror)
            return None
        except ConfigError as exc:
            log.error("%s", exc)
            return None
        with self._lock:
            stored = self._entries.get(user)
        if stored is None:
            return None
        return _check_htpasswd_hash(stored, pin)
