"""The package's public names: every ``__all__`` entry exists, the shared types are exported."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import otpgate

MODULES = sorted(m.name for m in pkgutil.walk_packages(otpgate.__path__, "otpgate."))


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    for export in getattr(module, "__all__", ()):
        assert hasattr(module, export), f"{name}.{export}"


def test_the_package_exports_the_login_api() -> None:
    from otpgate.login.authenticator import Attempt, Decision
    from otpgate.login.reasons import Reason
    from otpgate.otp.tokens import Token

    assert (otpgate.Attempt, otpgate.Decision, otpgate.Reason) == (Attempt, Decision, Reason)
    # Token moved to tokens.py; the old import path still works.
    from otpgate.otp.verify import Token as VerifyToken

    assert otpgate.Token is Token is VerifyToken
