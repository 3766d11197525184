"""OpenSSH: a real sshd on 127.0.0.1 asks for PIN and code by keyboard-interactive.

sshd runs with its own config (examples/openssh/otpgate.conf included), host
key and pid file in tmp_path, on a free port.  Its PAM service is the shipped
examples/pam/sshd, written to /etc/pam.d under a unique name: sshd names its
PAM service after the name it was started as, so it is started through a
symlink of that name.  sshd only lets existing system users in, so the test
creates one (useradd, no home, removed afterwards); paramiko is the client.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import missing, require_tool
from procs import free_port, started
from system_python import ROOT, site_packages, system_venv

from ..gate_users import audit, code, make_gate
from .service import example_lines, pam_service

pytestmark = [pytest.mark.sshd, pytest.mark.pam, pytest.mark.slow]

PIN = "2468"


@pytest.fixture(scope="module")
def login_user() -> Iterator[str]:
    """A system user for the duration of the module (sshd refuses unknown users)."""
    useradd, userdel = require_tool("useradd"), require_tool("userdel")
    if os.geteuid() != 0:
        missing("sshd with PAM needs root to create a test user and read host keys")
    name = f"otpgt{secrets.token_hex(4)}"
    subprocess.run(
        [useradd, "--no-create-home", "--home-dir", "/tmp", "--shell", "/bin/sh", name],
        check=True,
        capture_output=True,
    )
    try:
        yield name
    finally:
        subprocess.run([userdel, name], check=False, capture_output=True)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, login_user: str) -> Iterator[tuple[int, Path]]:
    """(port, gate directory) of a running sshd whose PAM asks otpgate."""
    sshd_bin = require_tool("sshd")
    keygen = require_tool("ssh-keygen")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        missing("paramiko is not installed (pip install -e '.[test]')")
    site = site_packages(system_venv())
    directory = tmp_path_factory.mktemp("sshd")
    config = make_gate(directory, {login_user: PIN})
    host_key = directory / "host_ed25519"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    # sshd's privilege separation directory; openssh-server's own service makes it at boot.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    sshd_config = directory / "sshd_config"
    sshd_config.write_text(
        f"Include {ROOT}/examples/openssh/otpgate.conf\n"
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"PidFile {directory}/sshd.pid\nPubkeyAuthentication no\nPermitRootLogin no\n"
        f"AllowUsers {login_user}\nUseDNS no\nLogLevel VERBOSE\n"
    )
    with pam_service(example_lines("sshd", site, config)) as service:
        binary = directory / service  # sshd's PAM service is the name it runs as
        binary.symlink_to(sshd_bin)
        argv = [str(binary), "-D", "-e", "-f", str(sshd_config)]
        with started(argv, port, directory / "sshd.log", "sshd"):
            yield port, directory


@contextlib.contextmanager
def ssh_login(port: int, user: str, pin: str, otp: str) -> Iterator[tuple[Any, list[str]]]:
    """Keyboard-interactive login; yields (transport, prompts seen)."""
    import paramiko

    prompts: list[str] = []

    def answer(title: str, instructions: str, asked: list[tuple[str, bool]]) -> list[str]:
        replies = []
        for prompt, _echo in asked:
            prompts.append(prompt)
            replies.append(otp if "code" in prompt.lower() else pin)
        return replies

    transport = paramiko.Transport(("127.0.0.1", port))
    # paramiko gives up after 30 s and raises AuthenticationException, which would
    # read as a refusal: a busy machine (a PIN hash, a Python start) may need longer.
    transport.auth_timeout = 120
    try:
        transport.start_client(timeout=20)
        transport.auth_interactive(user, answer)
        yield transport, prompts
    finally:
        transport.close()


def test_keyboard_interactive_login_with_pin_and_code(
    sshd: tuple[int, Path], login_user: str
) -> None:
    port, directory = sshd
    with ssh_login(port, login_user, PIN, code(login_user)) as (transport, prompts):
        assert transport.is_authenticated()
        channel = transport.open_session()
        channel.exec_command("id -un")
        out = channel.makefile("rb").read().decode().strip()
    assert prompts == ["PIN: ", "One-time code: "]
    assert out == login_user
    entry = audit(directory, login_user)[-1]
    assert (entry["reason"], entry["ip"]) == ("otp", "127.0.0.1")


def refused(port: int, user: str, pin: str, otp: str) -> bool:
    import paramiko

    try:
        with ssh_login(port, user, pin, otp):
            return False
    except paramiko.AuthenticationException as exc:
        assert "timeout" not in str(exc).lower(), f"not an answer: {exc}"
        return True


def test_wrong_code_and_replay_are_refused(sshd: tuple[int, Path], login_user: str) -> None:
    port, directory = sshd
    assert refused(port, login_user, PIN, code(login_user, offset_steps=40))
    # A code used once (by a login that went through) is refused to the next.
    otp = code(login_user, offset_steps=1)
    assert not refused(port, login_user, PIN, otp)
    assert refused(port, login_user, PIN, otp)
    reasons = [e["reason"] for e in audit(directory, login_user)]
    assert reasons[-3:] == ["no_match", "otp", "replayed"]
