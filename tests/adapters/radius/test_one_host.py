"""docs/radius.md's "One host", run as written: FreeRADIUS and ``otpgate serve`` on
one store, each as its own user, sharing a group.

The guide's block runs from an empty directory (:mod:`guides`), with users
of the test's own for ``otpgate`` and ``freerad`` (made, and removed
afterwards).  The test does what the guide leaves to the administrator: the
client secret, ``python_path`` and the listen port in the FreeRADIUS
directory, the PIN at the prompt, the code off the phone.  Then a login
through each server, a code used at one refused at the other, and a rotated
audit log made anew by one and written by both.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import guides
from conftest import missing, require_tool
from system_python import site_packages, system_venv

from .server import adapt_config, running

pytestmark = [pytest.mark.freeradius, pytest.mark.systemd, pytest.mark.curl, pytest.mark.slow]

DOC = guides.ROOT / "docs/radius.md"
PIN = "4711"


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    """The guide's users -> the test's: ``otpgate`` (made by the guide's useradd) and a
    stand-in for Debian's ``freerad`` (made here)."""
    if os.geteuid() != 0:
        missing("root (the guide adds users and gives files to them)")
    tag = secrets.token_hex(4)
    ours = {"otpgate": f"og{tag}", "freerad": f"fr{tag}"}
    subprocess.run(
        ["useradd", "--system", "--shell", "/usr/sbin/nologin", ours["freerad"]], check=True
    )
    try:
        yield ours
    finally:
        for user in (ours["freerad"], ours["otpgate"]):
            subprocess.run(["userdel", user], capture_output=True, check=False)
        subprocess.run(["groupdel", ours["otpgate"]], capture_output=True, check=False)


def _user_of(pid: int) -> str:
    uid = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    )
    return pwd.getpwuid(int(uid)).pw_name


def _owner(path: Path) -> tuple[str, str, int]:
    st = path.stat()
    user, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    return user, group, stat.S_IMODE(st.st_mode)


def _verify_dropin(m: guides.Machine, venv: Path) -> None:
    """The gate's unit with the guide's drop-in beside it passes ``systemd-analyze verify``."""
    tool = require_tool("systemd-analyze")
    units = m.path("/etc/systemd/system")
    unit = (guides.ROOT / "examples/systemd/otpgate.service").read_text()
    (units / "otpgate.service").write_text(
        unit.replace("/opt/otpgate/venv/bin/otpgate", str(venv / "bin/otpgate"))
    )
    done = subprocess.run(
        [tool, "verify", str(units / "otpgate.service")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "otpgate.service" not in done.stdout + done.stderr, done


def test_one_host_as_written(names: dict[str, str]) -> None:
    require_tool("freeradius")
    require_tool("radtest")
    require_tool("curl")
    venv = system_venv(full=True)  # the gate runs as a user who cannot read /root
    steps = guides.walk_through(DOC)
    assert sorted(steps) == list(range(1, 10)), steps
    og, fr = names["otpgate"], names["freerad"]
    with guides.open_to_all() as tmp:
        m = guides.Machine(
            tmp,
            under_root=(
                "/etc/otpgate",
                "/var/lib/otpgate",
                "/var/log/otpgate",
                "/etc/systemd/system",
            ),
            names=names,
            path=(venv / "bin",),
        )
        m.steps(steps[1] + steps[2] + steps[3] + steps[4])
        m.steps(steps[5], stdin=f"{PIN}\n{PIN}\n")
        m.steps(steps[6])
        # What the administrator edits in the copy: the secret, python_path, the port;
        # and FreeRADIUS's own run and log directories, which its unit makes for freerad.
        radius_dir = tmp / "radius"
        radius_dir.mkdir()
        port, secret = adapt_config(
            m.path("/etc/otpgate/freeradius"),
            radius_dir,
            site_packages(venv),
            m.path("/etc/otpgate/otpgate.toml"),
            [("user = freerad", f"user = {fr}"), ("group = freerad", f"group = {fr}")],
        )
        for path in (radius_dir, radius_dir / "run", radius_dir / "log"):
            os.chown(path, pwd.getpwnam(fr).pw_uid, -1)
        m.steps(steps[7])
        _verify_dropin(m, venv)

        serve, radiusd = steps[8]
        curl, radtest = steps[9]
        radtest = radtest.replace("127.0.0.1 0 SECRET", f"127.0.0.1:{port} 0 {secret}")

        def via_gate(offset: float = 0) -> str:
            return m.sh(curl.replace("PIN+CODE", PIN + m.phone("alice", offset))).strip()

        def via_radius(offset: float = 0) -> str:
            done = m.run(radtest.replace("PIN+CODE", PIN + m.phone("alice", offset)))
            return "accept" if "Received Access-Accept" in done.stdout else "reject"

        log = radius_dir / "freeradius.log"
        with m.serving(serve), running(m.here(radiusd).split(), log) as radius:
            gate_pid = int(
                subprocess.run(
                    ["pgrep", "-u", og, "-f", "otpgate serve"], capture_output=True, text=True
                ).stdout.split()[0]
            )
            assert (_user_of(gate_pid), _user_of(radius.pid)) == (og, fr)
            assert via_gate() == "200"
            # One store: the code the gate took is used up at the VPN too; the next works.
            assert via_radius() == "reject"
            assert via_radius(30) == "accept"
            audit = m.path("/var/log/otpgate/audit.log")
            assert _owner(audit)[1:] == (og, 0o660)
            assert [e["reason"] for e in _logins(audit)] == ["otp", "replayed", "otp"]

            # logrotate moves the log away; whichever writes first makes it, for both.
            audit.rename(audit.with_name("audit.log-1"))
            time.sleep(1.1)  # each process looks for a moved log once a second
            assert via_radius(60) == "accept"
            assert _owner(audit) == (fr, og, 0o660)
            assert via_gate(90) == "200"
            assert [e["reason"] for e in _logins(audit)] == ["otp", "otp"]


def _logins(path: Path) -> list[dict[str, object]]:
    """The audit log's login lines (``user add`` wrote an administrative one)."""
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in entries if "kind" not in e]
