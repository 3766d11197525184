"""The PAM module (src/otpgate/adapters/pam.py under libpam-python), driven by pamtester.

Each pamtester run is a new process, as each SSH login is: the decisions
that must hold across processes (replay, one code used once, the store's
failure limit) are what these tests check.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_tool
from system_python import site_packages, system_venv

from ..gate_users import audit, code, make_gate
from .service import PamResult, example_lines, pam_service, pamtester

pytestmark = [pytest.mark.pam, pytest.mark.slow]

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
PINS = {name: f"{i:04d}" for i, name in enumerate(USERS, start=1)}
SUCCESS = "successfully authenticated"
AUTH_ERR = "Authentication failure"
MAXTRIES = "Have exhausted maximum number of retries"
USER_UNKNOWN = "User not known to the underlying authentication module"
UNAVAILABLE = "Authentication service cannot retrieve authentication info"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the gate's directory, the venv's site-packages)."""
    require_tool("pamtester")
    if not Path("/lib/security/pam_python.so").exists() and not list(
        Path("/usr/lib").glob("*/security/pam_python.so")
    ):
        from conftest import missing

        missing("pam_python.so (apt-get install libpam-python)")
    site = site_packages(system_venv())
    directory = tmp_path_factory.mktemp("pam")
    make_gate(directory, PINS, ["max_otp_failures = 3", "failure_unlock_after = 300"])
    return directory, site


@pytest.fixture(scope="module")
def service(installed: tuple[Path, Path]) -> Iterator[str]:
    """examples/pam/sshd's auth line (two prompts)."""
    directory, site = installed
    lines = [ln for ln in example_lines("sshd", site, directory / "otpgate.toml") if "auth" in ln]
    with pam_service([*lines, "account required pam_permit.so"]) as name:
        yield name


def login(service: str, user: str, pin: str, otp: str) -> PamResult:
    return pamtester(service, user, [pin, otp])


def test_accept_asks_pin_then_code(service: str, installed: tuple[Path, Path]) -> None:
    result = login(service, "alice", PINS["alice"], code("alice"))
    assert result.returncode == 0, result.output
    assert SUCCESS in result.output
    assert result.output.index("PIN: ") < result.output.index("One-time code: ")
    (entry,) = audit(installed[0], "alice")
    assert (entry["result"], entry["reason"], entry["ip"]) == ("accept", "otp", "local")


def test_wrong_code_and_wrong_pin_are_authentication_failures(
    service: str, installed: tuple[Path, Path]
) -> None:
    wrong_code = login(service, "bob", PINS["bob"], code("bob", offset_steps=40))
    wrong_pin = login(service, "carol", "9999", code("carol"))
    for result in (wrong_code, wrong_pin):
        assert result.returncode != 0
        assert AUTH_ERR in result.output, result.output
    assert [e["reason"] for e in audit(installed[0], "bob")] == ["no_match"]
    assert [e["reason"] for e in audit(installed[0], "carol")] == ["bad_pin"]


def test_replay_is_refused_in_the_next_process(service: str, installed: tuple[Path, Path]) -> None:
    otp = code("dave")
    assert login(service, "dave", PINS["dave"], otp).returncode == 0
    again = login(service, "dave", PINS["dave"], otp)
    assert again.returncode != 0 and AUTH_ERR in again.output
    assert [e["reason"] for e in audit(installed[0], "dave")] == ["otp", "replayed"]


def test_unknown_user(service: str) -> None:
    result = login(service, "mallory", "1234", "123456")
    assert result.returncode != 0 and USER_UNKNOWN in result.output, result.output
    # A name that is not UTF-8 cannot be anyone's.
    garbled = pamtester(service, b"al\xffce", ["1234", "123456"])
    assert garbled.returncode != 0 and USER_UNKNOWN in garbled.output, garbled.output


def test_failure_limit_answers_maxtries_with_a_message(
    service: str, installed: tuple[Path, Path]
) -> None:
    # max_otp_failures = 3: the third failure locks for 300 s, in the store,
    # so it holds for every later process, even with the right PIN and code.
    for guess in ("000000", "111111", "222222"):
        assert AUTH_ERR in login(service, "erin", PINS["erin"], guess).output
    then = login(service, "erin", PINS["erin"], code("erin"))
    assert then.returncode != 0
    assert MAXTRIES in then.output, then.output
    assert "Too many failed attempts: try again in " in then.output
    # PAM_SILENT: the same answer, without the message.
    silent = pamtester(service, "erin", [PINS["erin"], code("erin")], "authenticate(PAM_SILENT)")
    assert MAXTRIES in silent.output, silent.output
    assert "Too many failed attempts" not in silent.output
    assert [e["reason"] for e in audit(installed[0], "erin")][-1] == "locked"


def test_eight_processes_one_fresh_code_one_success(
    service: str, installed: tuple[Path, Path]
) -> None:
    otp = code("frank")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: login(service, "frank", PINS["frank"], otp), range(8)))
    assert sorted(r.returncode == 0 for r in results) == [False] * 7 + [True]
    assert sorted(e["reason"] for e in audit(installed[0], "frank")) == ["otp"] + ["replayed"] * 7


def test_not_utf8_and_no_answer_are_refused_not_crashed(service: str) -> None:
    garbled = pamtester(service, "grace", [b"12\xff4", code("grace")])
    silent = pamtester(service, "grace", [])
    for result in (garbled, silent):
        assert result.returncode != 0 and AUTH_ERR in result.output, result.output


def test_single_prompt(installed: tuple[Path, Path]) -> None:
    directory, site = installed
    lines = example_lines("one-password", site, directory / "otpgate.toml")
    with pam_service(lines) as name:
        result = pamtester(name, "heidi", [PINS["heidi"] + code("heidi")])
    assert result.returncode == 0, result.output
    assert "PIN and one-time code: " in result.output
    assert "One-time code: " not in result.output.replace("PIN and one-time code: ", "")


def test_use_first_pass_takes_the_password_a_module_above_asked_for(
    installed: tuple[Path, Path],
) -> None:
    directory, site = installed
    (auth,) = [ln for ln in example_lines("sshd", site, directory / "otpgate.toml") if "auth" in ln]
    # pam_unix asks "Password:" and keeps the answer as PAM_AUTHTOK; "ivan" is
    # no system user, so pam_unix itself fails (optional: that does not count).
    lines = [
        "auth optional pam_unix.so",
        auth + " use_first_pass",
        "account required pam_permit.so",
    ]
    with pam_service(lines) as name:
        ok = pamtester(name, "ivan", [PINS["ivan"] + code("ivan")])
        no_token = pamtester(name, "judy", [""])
    assert ok.returncode == 0, ok.output
    assert "PIN: " not in ok.output
    assert no_token.returncode != 0


def test_try_first_pass_asks_when_nothing_was_asked_before(installed: tuple[Path, Path]) -> None:
    directory, site = installed
    lines = example_lines("sshd", site, directory / "otpgate.toml")
    auth = [ln + " try_first_pass" for ln in lines if ln.startswith("auth")]
    with pam_service(auth) as name:
        result = pamtester(name, "grace", [PINS["grace"], code("grace")])
    assert result.returncode == 0, result.output
    assert "PIN: " in result.output and "One-time code: " in result.output


@pytest.mark.parametrize(
    ("config_name", "extra"), [("no-such.toml", ""), ("otpgate.toml", " lingr=5")]
)
def test_unusable_settings_are_authinfo_unavailable(
    installed: tuple[Path, Path], config_name: str, extra: str
) -> None:
    directory, site = installed
    lines = example_lines("sshd", site, directory / config_name)
    auth = [ln + extra for ln in lines if ln.startswith("auth")]
    with pam_service(auth) as name:
        result = pamtester(name, "alice", ["0001", "123456"])
    assert result.returncode != 0 and UNAVAILABLE in result.output, result.output
    assert "PIN" not in result.output  # refused before asking anything
