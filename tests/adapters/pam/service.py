"""PAM service files for the tests, made from examples/pam/.

PAM reads services only from /etc/pam.d, so a test writes a uniquely named
file there (``otpgate-test-<random>``) and removes it when done.  The auth
line is the shipped one with the test's venv and otpgate.toml put in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conftest import missing, needs
from system_python import ROOT

PAM_DIR = Path("/etc/pam.d")
EXAMPLE_MODULE = "/opt/otpgate/venv/lib/python3.11/site-packages/otpgate/adapters/pam.py"
EXAMPLE_CONFIG = "config=/etc/otpgate/otpgate.toml"


def example_lines(name: str, site: Path, config: Path) -> list[str]:
    """The non-comment lines of examples/pam/NAME, pointed at the test's files."""
    text = (ROOT / "examples/pam" / name).read_text()
    assert EXAMPLE_MODULE in text and EXAMPLE_CONFIG in text, "update the test"
    text = text.replace(EXAMPLE_MODULE, str(site / "otpgate/adapters/pam.py"))
    text = text.replace(EXAMPLE_CONFIG, f"config={config}")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@contextlib.contextmanager
def pam_service(lines: list[str]) -> Iterator[str]:
    """A service file in /etc/pam.d for the duration; yields its name."""
    needs("pam")
    if not os.access(PAM_DIR, os.W_OK):
        missing(f"{PAM_DIR} is not writable here (PAM tests need to add a service file)")
    name = f"otpgate-test-{secrets.token_hex(6)}"
    path = PAM_DIR / name
    path.write_text("\n".join(lines) + "\n")
    try:
        yield name
    finally:
        path.unlink(missing_ok=True)


@dataclass
class PamResult:
    returncode: int
    output: str


def pamtester(
    service: str, user: str | bytes, answers: list[str | bytes], op: str = "authenticate"
) -> PamResult:
    """``pamtester SERVICE USER authenticate`` answering the prompts from stdin.

    ``op`` may carry flags: ``authenticate(PAM_SILENT)``.
    """
    done = subprocess.run(
        [b"pamtester", b"-v", service.encode(), os.fsencode(user), op.encode()],
        input=b"".join((a.encode() if isinstance(a, str) else a) + b"\n" for a in answers),
        capture_output=True,
        timeout=60,
        check=False,
    )
    return PamResult(done.returncode, (done.stdout + done.stderr).decode(errors="replace"))
