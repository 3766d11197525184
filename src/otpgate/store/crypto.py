"""Encryption of OTP keys at rest (SQLite and PostgreSQL stores).

OTP keys are encrypted with AES-256-GCM under a key kept in a separate *key
file*, so a copy of the database alone (a backup, a replica, a stolen dump)
does not reveal the tokens.  The user name is the associated data: a
ciphertext copied onto another user's row does not decrypt.

The key file is text, one key per line (``#`` comments allowed)::

    # otpgate key file ...
    1 q3Jv...base64 of 32 random bytes...=
    2 8fQ1...

New encryptions use the highest id; decryption picks the key by the id stored
in the ciphertext (re-reading the file when the id is new to it, so running
gate instances follow a rotation), so old rows keep working after
:func:`add_key` until
:meth:`otpgate.store.sqlite.SQLiteStore.reencrypt_keys` (or the PostgreSQL
equivalent) has rewritten them and :func:`drop_old_keys` removes the old key.
A file of exactly 32 raw bytes (``head -c 32 /dev/urandom``) is also read, as
key id 0.

Ciphertext layout: ``0x01 | key id (4 bytes, big-endian) | nonce (12) |
AES-GCM ciphertext and tag``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import stat
import struct
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError, StoreError

__all__ = [
    "KEY_BYTES",
    "KeyRing",
    "add_key",
    "create_key_file",
    "drop_old_keys",
    "load_key_file",
]

KEY_BYTES: Final = 32
_FORMAT: Final = 1
_HEADER: Final = struct.Struct(">BI")
_NONCE_BYTES: Final = 12
_AAD_PREFIX: Final = b"otpgate/otp-key/v1\x00"
# A separate key for digests, derived from each encryption key: one key is
# never used for two algorithms.
_MAC_LABEL: Final = b"otpgate/mac-key/v1"
_BANNER: Final = (
    "# otpgate key file: AES-256-GCM keys that encrypt the OTP keys in the store.\n"
    "# Keep it secret (mode 0600) and back it up: without it no token can be read.\n"
    "# One key per line, 'ID BASE64'; new writes use the highest ID.\n"
)


class KeyRing:
    """The keys of one key file: encrypt with the newest, decrypt by id."""

    def __init__(
        self, keys: Mapping[int, bytes], source: str = "<memory>", *, path: str | None = None
    ) -> None:
        """Build a key ring.

        Args:
            keys: key id -> 32-byte key.
            source: where the keys came from (for error messages).
            path: the key file to re-read when a ciphertext names a key id
                this ring does not hold (another instance rotated the keys).

        Raises:
            ConfigError: no keys, or a key of the wrong size or id.
        """
        if not keys:
            raise ConfigError(f"key file {source} holds no key")
        for key_id, key in keys.items():
            if not 0 <= key_id < 1 << 32:
                raise ConfigError(f"key file {source}: key id {key_id} is out of range")
            if len(key) != KEY_BYTES:
                raise ConfigError(
                    f"key file {source}: key {key_id} has {len(key)} bytes, not {KEY_BYTES}"
                )
        self.source = source
        self._path = path
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._mac = {
            key_id: hmac.digest(key, _MAC_LABEL, hashlib.sha256) for key_id, key in keys.items()
        }
        self.newest_id = max(keys)
        self._reload_lock = threading.Lock()

    def _reload(self) -> None:
        """Pick up keys added to the key file since it was loaded."""
        if self._path is None:
            return
        with self._reload_lock:
            try:
                fresh = load_key_file(self._path)
            except ConfigError:
                return  # keep working with the keys already loaded
            merged = {**fresh._aead, **self._aead}
            macs = {**fresh._mac, **self._mac}
            # Assign whole objects: readers in other threads see old or new, never half.
            self._mac = macs
            self._aead = merged
            self.newest_id = max(self.newest_id, fresh.newest_id)

    @property
    def ids(self) -> list[int]:
        return sorted(self._aead)

    @staticmethod
    def _aad(username: str) -> bytes:
        return _AAD_PREFIX + username.encode("utf-8")

    def encrypt(self, plaintext: bytes, username: str) -> bytes:
        """Encrypt an OTP key for ``username`` with the newest key."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead[self.newest_id].encrypt(nonce, plaintext, self._aad(username))
        return _HEADER.pack(_FORMAT, self.newest_id) + nonce + sealed

    def digest(self, purpose: str, *parts: str) -> bytes:
        """A keyed digest (HMAC-SHA256) of ``parts`` under the newest key.

        For values the store must compare but should not reveal (the last
        OTP).  Each part is length-prefixed, so ``("ab", "c")`` and
        ``("a", "bc")`` differ; ``purpose`` separates uses of one key.  The
        result changes when a new key is added (:func:`add_key`).
        """
        message = bytearray(purpose.encode("utf-8") + b"\x00")
        for part in parts:
            raw = part.encode("utf-8", "surrogatepass")
            message += len(raw).to_bytes(4, "big") + raw
        return hmac.digest(self._mac[self.newest_id], bytes(message), hashlib.sha256)

    @staticmethod
    def key_id_of(blob: bytes) -> int:
        """The id of the key a ciphertext was made with.

        Raises:
            StoreError: the blob is not an otpgate ciphertext.
        """
        if len(blob) < _HEADER.size + _NONCE_BYTES + 16 or blob[0] != _FORMAT:
            raise StoreError("an encrypted OTP key is damaged (unknown format)")
        key_id: int = _HEADER.unpack_from(blob)[1]
        return key_id

    def decrypt(self, blob: bytes, username: str) -> bytes:
        """Decrypt an OTP key stored for ``username``.

        Raises:
            StoreError: unknown key id (wrong or rotated-away key file), or the
                ciphertext was altered or belongs to another user.
        """
        key_id = self.key_id_of(bytes(blob))
        aead = self._aead.get(key_id)
        if aead is None:
            # Rotated by another process (otpgate rotate-key, a second gate
            # instance): the new key is in the file, so no restart is needed.
            self._reload()
            aead = self._aead.get(key_id)
        if aead is None:
            raise StoreError(
                f"the OTP key of {username!r} is encrypted with key id {key_id}, which "
                f"{self.source} does not hold (wrong key file, or the key was dropped too early)"
            )
        start = _HEADER.size
        nonce = bytes(blob[start : start + _NONCE_BYTES])
        try:
            return aead.decrypt(nonce, bytes(blob[start + _NONCE_BYTES :]), self._aad(username))
        except InvalidTag:
            raise StoreError(
                f"the OTP key of {username!r} does not decrypt with {self.source} "
                "(wrong key file, damaged data, or a row copied from another user)"
            ) from None


def _parse(data: bytes, source: str) -> dict[int, bytes]:
    if len(data) == KEY_BYTES:
        try:
            data.decode("ascii")
        except UnicodeDecodeError:
            # 32 raw random bytes: the simplest possible key file.
            return {0: data}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"key file {source} is neither text nor 32 raw bytes") from None
    keys: dict[int, bytes] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ConfigError(f"key file {source} line {lineno}: expected 'ID BASE64'")
        key_id = int(parts[0])
        try:
            key = base64.b64decode(parts[1], validate=True)
        except binascii.Error:
            raise ConfigError(f"key file {source} line {lineno}: not base64") from None
        if key_id in keys:
            raise ConfigError(f"key file {source} line {lineno}: key id {key_id} repeats")
        keys[key_id] = key
    return keys


def load_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """Read a key file.

    Raises:
        ConfigError: the file is missing, readable by others, or malformed.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read(1 << 20)
    except FileNotFoundError:
        raise ConfigError(
            f"key file {source} does not exist (create it with 'otpgate init')"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {source}: {exc.strerror}") from None
    if st.st_mode & stat.S_IRWXO:
        raise ConfigError(
            f"key file {source} is accessible to other users "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it"
        )
    return KeyRing(_parse(data, source), source, path=source)


def _render(keys: Mapping[int, bytes]) -> bytes:
    lines = [
        f"{key_id} {base64.b64encode(keys[key_id]).decode('ascii')}" for key_id in sorted(keys)
    ]
    return (_BANNER + "\n".join(lines) + "\n").encode("ascii")


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: str, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".otpgate-key-", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            try:
                st = os.stat(path)
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass  # not ours to give away; the new file stays ours, 0600
            os.replace(tmp, path)
        else:
            # link() fails if the name exists: never overwrite a key file by accident.
            os.link(tmp, path)
            os.unlink(tmp)
        _fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """Create a key file holding one fresh 32-byte key (id 1), mode 0600, atomically.

    Raises:
        ConfigError: the file already exists or cannot be written.
    """
    target = os.fspath(path)
    keys = {1: secrets.token_bytes(KEY_BYTES)}
    try:
        _write_new(target, _render(keys), replace=False)
    except FileExistsError:
        raise ConfigError(f"key file {target} already exists; not overwriting it") from None
    except OSError as exc:
        raise ConfigError(f"cannot create key file {target}: {exc.strerror}") from None
    return KeyRing(keys, target, path=target)


@contextlib.contextmanager
def _exclusive(path: str) -> Iterator[None]:
    """Serialise changes to one key file (two rotations at once would lose a key)."""
    try:
        fd = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot lock key file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_raw(path: str) -> dict[int, bytes]:
    load_key_file(path)  # the same checks as a normal load
    with open(path, "rb") as f:
        return _parse(f.read(1 << 20), path)


def add_key(path: str | os.PathLike[str]) -> int:
    """Rotate: append a fresh key with the next id; new writes will use it.

    Old keys stay so existing rows still decrypt; re-encrypt the store, then
    :func:`drop_old_keys`.

    Returns:
        The new key's id.

    Raises:
        ConfigError: the key file is missing, malformed or cannot be written.
    """
    target = os.fspath(path)
    with _exclusive(target):
        keys = _read_raw(target)
        new_id = max(keys) + 1
        keys[new_id] = secrets.token_bytes(KEY_BYTES)
        try:
            _write_new(target, _render(keys), replace=True)
        except OSError as exc:
            raise ConfigError(f"cannot rewrite key file {target}: {exc.strerror}") from None
    return new_id


def drop_old_keys(path: str | os.PathLike[str]) -> list[int]:
    """Remove every key but the newest (after re-encrypting the store).

    Returns:
        The ids removed.

    Raises:
        ConfigError: the key file is missing, malformed or cannot be written.
    """
    target = os.fspath(path)
    with _exclusive(target):
        keys = _read_raw(target)
        newest = max(keys)
        dropped = sorted(k for k in keys if k != newest)
        if dropped:
            try:
                _write_new(target, _render({newest: keys[newest]}), replace=True)
            except OSError as exc:
                raise ConfigError(f"cannot rewrite key file {target}: {exc.strerror}") from None
    return dropped
