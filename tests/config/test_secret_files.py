"""Secret files other users could read or change are refused, as the store's key file is.

The attack (issue 9, item 2): ``docs/gate.md``'s own command created the
session secret 0644 under umask 022, and the gate accepted it; anyone on the
host could then sign a session cookie for any user.  A group- or
world-writable file is as bad: whoever can write it picks the secret.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from otpgate.config.loader import load_config
from otpgate.errors import ConfigError

SECRET = "a" * 32
DOCS = Path(__file__).parents[2] / "docs" / "gate.md"


def secret_file(tmp_path: Path, mode: int, name: str = "secret") -> Path:
    path = tmp_path / name
    path.write_text(SECRET + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o666, 0o620, 0o660, 0o601], ids=oct)
def test_session_secret_file_others_can_use_is_refused(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, mode)
    config = load_config(None, env={}, overrides={"web": {"session_secret_file": str(path)}})
    with pytest.raises(ConfigError) as info:
        config.secrets()
    message = str(info.value)
    assert str(path) in message and f"mode {mode:04o}" in message
    if mode & 0o007:
        assert "other users may read or change it; chmod 0600" in message
    else:  # group write only: said as it is, not "other users"
        assert "its group may change it" in message and "chmod 0640" in message
        assert "other users" not in message
    assert SECRET not in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640], ids=oct)
def test_session_secret_file_private_is_read(tmp_path: Path, mode: int) -> None:
    # Group-readable stays allowed: root:otpgate 0640 is how a service group reads it.
    path = secret_file(tmp_path, mode)
    config = load_config(None, env={}, overrides={"web": {"session_secret_file": str(path)}})
    assert config.secrets() == [SECRET.encode()]


@pytest.mark.parametrize(("mode", "ok"), [(0o644, False), (0o660, False), (0o600, True)])
def test_api_keys_file_is_checked_the_same_way(tmp_path: Path, mode: int, ok: bool) -> None:
    path = secret_file(tmp_path, mode, "api-keys")
    config = load_config(None, env={}, overrides={"web": {"api_keys_file": str(path)}})
    if ok:
        assert config.api_keys() == [SECRET]
    else:
        with pytest.raises(ConfigError, match="api_keys_file"):
            config.api_keys()


def test_the_documented_command_makes_a_file_the_gate_accepts(tmp_path: Path) -> None:
    text = DOCS.read_text()
    found = re.search(r"To create the session secret by hand:\n`([^`]+)`", text)
    assert found is not None, "docs/gate.md no longer shows the command"
    target = tmp_path / "session.secret"
    command = found.group(1).replace("/etc/otpgate/session.secret", str(target))
    # Under the usual umask, which made the old command's file world-readable.
    subprocess.run(["sh", "-c", f"umask 022; {command}"], check=True)
    assert target.stat().st_mode & 0o777 == 0o600
    config = load_config(None, env={}, overrides={"web": {"session_secret_file": str(target)}})
    assert len(config.secrets()[0]) >= 32
