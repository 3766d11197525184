"""otpgate.adapters.pam's arguments and result codes, in this process (no PAM)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from otpgate.adapters.pam import Options, parse_args, result_code
from otpgate.login.reasons import Reason

# The numbers of Linux-PAM's _pam_types.h, as pam_python exposes them on pamh.
PAMH = SimpleNamespace(
    PAM_SUCCESS=0,
    PAM_AUTH_ERR=7,
    PAM_AUTHINFO_UNAVAIL=9,
    PAM_USER_UNKNOWN=10,
    PAM_MAXTRIES=11,
)


def test_arguments() -> None:
    argv = ["/x/pam.py", "config=/etc/o.toml", "path=/opt/v/site", "try_first_pass", "linger=5"]
    assert parse_args(argv) == Options("/etc/o.toml", "/opt/v/site", False, True, False, 5.0)
    assert parse_args(["/x/pam.py"]) == Options()
    assert parse_args(["/x", "use_first_pass", "single_prompt"]).single_prompt


@pytest.mark.parametrize(
    "arg",
    ["linger=-1", "linger=nan", "linger=inf", "linger=", "config=", "debug", "use_first_pass=1"],
)
def test_bad_arguments_are_named(arg: str) -> None:
    with pytest.raises(ValueError, match=arg.split("=")[0]):
        parse_args(["/x/pam.py", arg])


@pytest.mark.parametrize(
    ("ok", "reason", "retry", "expected"),
    [
        (True, Reason.OTP, None, "PAM_SUCCESS"),
        (False, Reason.BAD_PIN, None, "PAM_AUTH_ERR"),
        (False, Reason.NO_MATCH, None, "PAM_AUTH_ERR"),
        (False, Reason.REPLAYED, None, "PAM_AUTH_ERR"),
        (False, Reason.MALFORMED, None, "PAM_AUTH_ERR"),
        (False, Reason.LOCKED, None, "PAM_AUTH_ERR"),  # an administrator's lock
        (False, Reason.LOCKED, 30.0, "PAM_MAXTRIES"),  # the failure limit's
        (False, Reason.THROTTLED, 2.0, "PAM_MAXTRIES"),
        (False, Reason.NO_MATCH, 1.0, "PAM_MAXTRIES"),  # the failure that started a backoff
        (False, Reason.UNKNOWN_USER, None, "PAM_USER_UNKNOWN"),
        (False, Reason.STORE_ERROR, None, "PAM_AUTHINFO_UNAVAIL"),
    ],
)
def test_result_codes(ok: bool, reason: Reason, retry: float | None, expected: str) -> None:
    assert result_code(PAMH, ok, reason, retry) == getattr(PAMH, expected)
