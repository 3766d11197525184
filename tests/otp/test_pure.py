"""otp/ is pure: it imports the exception root and a few standard modules, nothing with I/O.

Someone who only wants ``verify()`` must not need a database driver or a
web server installed to import it, and no rule in otp/ may read a file, a
clock or the network behind the caller's back: time is passed in.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import otpgate.otp

OTP = Path(otpgate.otp.__file__).parent
# Pure computation only: no os, io, time, socket, logging ...
ALLOWED = {
    "__future__",
    "base64",
    "binascii",
    "collections.abc",
    "dataclasses",
    "hashlib",
    "hmac",
    "re",
    "secrets",
    "struct",
    "typing",
    "urllib.parse",
    "warnings",
    "otpgate.errors",
}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, TYPE_CHECKING blocks and functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module or "")
            else:
                base = "otpgate.otp".rsplit(".", node.level - 1)[0]
                found.add(f"{base}.{node.module}" if node.module else base)
    return found


@pytest.mark.parametrize("path", sorted(OTP.glob("*.py")), ids=lambda p: p.name)
def test_otp_imports_only_the_error_root_and_pure_standard_modules(path: Path) -> None:
    outside = {m for m in imports_of(path) if not m.startswith("otpgate.otp")}
    assert outside <= ALLOWED, f"{path.name} imports {sorted(outside - ALLOWED)}"


def test_the_check_sees_a_forbidden_import() -> None:
    # The check itself must be able to fail: a module importing os is caught.
    probe = OTP.parent / "store" / "crypto.py"
    assert "os" in imports_of(probe) and not imports_of(probe) <= ALLOWED


def test_the_package_exports_what_a_caller_needs() -> None:
    otp = importlib.import_module("otpgate.otp")
    for name in ("hotp", "totp", "motp", "Token", "TokenType", "parse_uri", "build_uri"):
        assert name in otp.__all__
    for name in ("decode_key", "new_key", "verify", "resync", "Policy", "TokenState", "Match"):
        assert name in otp.__all__
    assert otp.verify is importlib.import_module("otpgate.otp.verify").verify
