"""examples/systemd/otpgate.service passes `systemd-analyze verify`, scores well in
`systemd-analyze security`, and runs commands the CLI accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_tool
from otpgate.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "examples/systemd/otpgate.service"
SHIPPED_BINARY = "/opt/otpgate/venv/bin/otpgate"

pytestmark = pytest.mark.systemd


def _unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's otpgate (verify checks it exists)."""
    here = Path(sys.executable).parent / "otpgate"
    assert here.exists(), here
    unit = tmp_path / "otpgate.service"
    unit.write_text(UNIT.read_text().replace(SHIPPED_BINARY, str(here)))
    return unit


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = require_tool("systemd-analyze")
    unit = _unit_here(tmp_path)
    done = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    # verify exits 0 on settings it ignores ("Unknown key", "Failed to parse"): none allowed.
    assert [line for line in out.splitlines() if "otpgate.service" in line] == [], out


def test_systemd_security_exposure_is_low(tmp_path: Path) -> None:
    tool = require_tool("systemd-analyze")
    unit = _unit_here(tmp_path)
    done = subprocess.run(
        [tool, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    m = re.search(r"Overall exposure level for otpgate\.service: ([0-9.]+)", done.stdout)
    assert m is not None, done.stdout + done.stderr
    # 0 = fully locked down, 10 = no protection; "OK" is below 2.
    assert float(m[1]) <= 2.0, done.stdout


def test_unit_hardening_and_commands() -> None:
    text = UNIT.read_text()
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Za-z]+=", line)
    )
    for name, value in {
        "User": "otpgate",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "StateDirectory": "otpgate",
        "ConfigurationDirectory": "otpgate",
        "ReadWritePaths": "/var/lib/otpgate /var/log/otpgate",
    }.items():
        assert settings.get(name) == value, name
    # A users-file store lives outside them (/etc, read-only under ProtectSystem=strict):
    # the unit says what to add.
    assert "#   ReadWritePaths=/etc/otp\n" in text
    # Both commands parse as the CLI's own (no option the CLI does not know).
    for key in ("ExecStartPre", "ExecStart"):
        argv = shlex.split(settings[key])
        assert argv[0] == SHIPPED_BINARY
        args = build_parser().parse_args(argv[1:])
        assert callable(args.handler)


@pytest.mark.freeradius
def test_freeradius_unit_verifies_and_reaches_the_gates_files(tmp_path: Path) -> None:
    """examples/freeradius/otpgate-radius.service: FreeRADIUS with otpgate's module, the
    directory docs/radius.md installs, the store and audit log writable, nothing else."""
    tool = require_tool("systemd-analyze")
    require_tool("freeradius")
    source = ROOT / "examples/freeradius/otpgate-radius.service"
    unit = tmp_path / source.name
    unit.write_text(source.read_text())
    done = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert [line for line in out.splitlines() if source.name in line] == [], out
    settings: dict[str, list[str]] = {}
    for line in source.read_text().splitlines():
        if re.match(r"^[A-Za-z]+=", line):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    assert settings["User"] == ["freerad"] and settings["ProtectSystem"] == ["strict"]
    assert settings["ExecStart"] == ["/usr/sbin/freeradius -f -d /etc/otpgate/freeradius"]
    assert settings["ReadWritePaths"] == ["/var/lib/otpgate /var/log/otpgate -/var/log/freeradius"]
    # Never StateDirectory=otpgate: systemd would give the gate's store to freerad.
    assert not {"StateDirectory", "LogsDirectory"} & set(settings)
