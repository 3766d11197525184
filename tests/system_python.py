"""A venv of the system Python with otpgate in it, for Pythons embedded in servers.

FreeRADIUS's rlm_python3 and libpam-python (pam_python.so) are built against
Debian's /usr/bin/python3 (3.11), not the development Python the suite runs
in: they import otpgate from a venv of that Python, as a deployment would
(/opt/otpgate/venv).  It lives under /tmp, world-readable, and is rebuilt
when the sources change (cached by their hash).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import missing
from procs import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"
_LOCK = Path("/tmp/otpgate-system-venv.lock")


def _source_hash() -> str:
    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for path in sorted((ROOT / "src/otpgate").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def site_packages(venv: Path) -> Path:
    """The venv's site-packages (the path rlm_python3 and pam_python are given)."""
    found = sorted(venv.glob("lib/python3*/site-packages"))
    assert found, f"no site-packages in {venv}"
    return found[0]


def system_venv(*, full: bool = False) -> Path:
    """The venv (built on first use); skips loudly, or fails under CI, without python3-venv.

    ``full``: with every dependency, for ``otpgate serve`` run as another user
    than root (the development venv's Python lives under /root, closed to them).
    """
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        missing(f"{SYSTEM_PYTHON} (Debian's python3, which rlm_python3 and pam_python embed)")
    venv = Path(f"/tmp/otpgate-system-venv-{'full-' if full else ''}{_source_hash()}")
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / "ready").exists():
            return venv
        # Other worktrees' test runs may be using their own (other hash) venvs
        # right now: only what has not been touched for a day goes.
        for old in Path("/tmp").glob("otpgate-system-venv-*"):
            if old.is_dir() and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check"]
        steps = [
            [SYSTEM_PYTHON, "-m", "venv", str(venv)],
            [*pip, str(ROOT)],
        ]
        if not full:
            # What the store, the PIN hash and the key file need; no web stack.
            steps[1:] = [[*pip, "argon2-cffi", "cryptography"], [*pip, "--no-deps", str(ROOT)]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                missing(
                    f"a venv of {SYSTEM_PYTHON} ({' '.join(step[:4])} failed: "
                    f"{done.stderr.strip()[-300:]}); needs python3-venv and the packages"
                )
        os.chmod(venv, 0o755)  # noqa: S103 - freerad and sshd's PAM stack must read it
        (venv / "ready").write_text("")
        return venv
