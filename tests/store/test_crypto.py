"""The key file and AES-GCM encryption of OTP keys at rest."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from otpgate.errors import ConfigError, StoreError
from otpgate.store import crypto

SECRET = b"12345678901234567890"


def test_create_key_file_is_private_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "otpgate.key"
    ring = crypto.create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ring.ids == [1]
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        crypto.create_key_file(path)
    assert path.read_bytes() == before
    # No temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["otpgate.key"]
    again = crypto.load_key_file(path)
    assert again.decrypt(ring.encrypt(SECRET, "alice"), "alice") == SECRET


def test_each_encryption_is_fresh_and_bound_to_the_user(tmp_path: Path) -> None:
    ring = crypto.create_key_file(tmp_path / "k")
    a, b = ring.encrypt(SECRET, "alice"), ring.encrypt(SECRET, "alice")
    assert a != b  # random nonce
    assert SECRET not in a
    with pytest.raises(StoreError, match="another user"):
        ring.decrypt(a, "mallory")
    tampered = bytearray(a)
    tampered[-1] ^= 1
    with pytest.raises(StoreError):
        ring.decrypt(bytes(tampered), "alice")
    with pytest.raises(StoreError, match="format"):
        ring.decrypt(b"\x02" + a[1:], "alice")
    with pytest.raises(StoreError, match="format"):
        ring.decrypt(b"short", "alice")


def test_wrong_key_file_is_a_clear_error(tmp_path: Path) -> None:
    one = crypto.create_key_file(tmp_path / "one")
    two = crypto.create_key_file(tmp_path / "two")
    with pytest.raises(StoreError, match="does not decrypt"):
        two.decrypt(one.encrypt(SECRET, "alice"), "alice")


def test_rotation_add_reencrypt_drop(tmp_path: Path) -> None:
    path = tmp_path / "k"
    old = crypto.create_key_file(path)
    blob = old.encrypt(SECRET, "alice")
    assert crypto.add_key(path) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = crypto.load_key_file(path)
    assert ring.ids == [1, 2] and ring.newest_id == 2
    assert ring.decrypt(blob, "alice") == SECRET  # old rows still read
    new_blob = ring.encrypt(SECRET, "alice")
    assert crypto.KeyRing.key_id_of(new_blob) == 2
    assert crypto.drop_old_keys(path) == [1]
    dropped = crypto.load_key_file(path)
    assert dropped.ids == [2]
    assert dropped.decrypt(new_blob, "alice") == SECRET
    with pytest.raises(StoreError, match="key id 1"):
        dropped.decrypt(blob, "alice")
    assert crypto.drop_old_keys(path) == []


def test_raw_32_byte_key_file(tmp_path: Path) -> None:
    path = tmp_path / "raw"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, bytes(range(200, 232)))
    os.close(fd)
    ring = crypto.load_key_file(path)
    assert ring.ids == [0]
    assert ring.decrypt(ring.encrypt(SECRET, "a"), "a") == SECRET


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "no key"),
        (b"# only a comment\n", "no key"),
        (b"1 notbase64!!\n", "not base64"),
        (b"one AAAA\n", "ID BASE64"),
        (b"1 AAAA\n", "bytes"),
        (b"\xff\xfe" * 20, "neither text"),
    ],
)
def test_malformed_key_files(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(ConfigError, match=words):
        crypto.load_key_file(path)


def test_repeated_key_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    crypto.create_key_file(path)
    line = path.read_text().splitlines()[-1]
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(ConfigError, match="repeats"):
        crypto.load_key_file(path)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    crypto.create_key_file(path)
    path.chmod(0o604)
    with pytest.raises(ConfigError, match="chmod 600"):
        crypto.load_key_file(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="otpgate init"):
        crypto.load_key_file(tmp_path / "nope")


def test_concurrent_rotations_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "k"
    crypto.create_key_file(path)
    with ThreadPoolExecutor(8) as pool:
        ids = sorted(pool.map(lambda _: crypto.add_key(path), range(8)))
    assert ids == list(range(2, 10))
    assert crypto.load_key_file(path).ids == list(range(1, 10))
