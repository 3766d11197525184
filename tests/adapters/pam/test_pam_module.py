"""otpgate.adapters.pam in this process (no PAM): arguments, result codes, one Authenticator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from otpgate.adapters import pam, per_process
from otpgate.adapters.pam import Options, parse_args, result_code
from otpgate.login.reasons import Reason
from otpgate.store import open_store
from otpgate.store.passkeys import Passkey, PasskeyStore

from ..gate_users import code, make_gate

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


# --- one Authenticator per process ---------------------------------------------------


class FakeHandle(SimpleNamespace):
    """What pam_python hands the module: a user, PAM_AUTHTOK, the remote host."""

    PAM_PROMPT_ECHO_OFF = 1
    PAM_ERROR_MSG = 3
    PAM_SILENT = 0x8000
    exception = RuntimeError

    def __init__(self, user: str, authtok: str) -> None:
        super().__init__(**vars(PAMH), authtok=authtok, rhost="192.0.2.9", told=[])
        self.user = user

    def get_user(self, prompt: object) -> str:
        return self.user

    def Message(self, style: int, text: str) -> str:  # pam_python's name
        return text

    def conversation(self, message: str) -> SimpleNamespace:
        self.told.append(message)
        return SimpleNamespace(resp=None)


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, list[object]]]:
    """(the otpgate.toml, every Authenticator the PAM module opened); all closed after."""
    from otpgate.login import assembly

    config = make_gate(tmp_path, {"alice": "1234"})
    opened: list[object] = []
    real = assembly.open_authenticator

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(assembly, "open_authenticator", counting)
    try:
        yield config, opened
    finally:
        per_process.pam().close()


def login(config: Path, password: str, *extra: str) -> int:
    argv = ["/x/pam.py", f"config={config}", "use_first_pass", *extra]
    return pam.pam_sm_authenticate(FakeHandle("alice", password), 0, argv)


def test_logins_in_one_process_share_one_authenticator(
    opened: tuple[Path, list[object]],
) -> None:
    config, authenticators = opened
    password = "1234" + code("alice")
    assert login(config, password) == PAMH.PAM_SUCCESS
    assert login(config, password) == PAMH.PAM_AUTH_ERR  # replayed: linger=0
    # Its throttle sees every login of the process: the free failures run out.
    results = [login(config, "1234000000") for _ in range(5)]
    assert results[-1] == PAMH.PAM_MAXTRIES
    assert len(authenticators) == 1
    # Other settings (linger) are another Authenticator, kept as well.
    assert login(config, "1234000000", "linger=5") == PAMH.PAM_AUTH_ERR
    assert login(config, "1234000000", "linger=5") == PAMH.PAM_AUTH_ERR
    assert len(authenticators) == 2


def test_the_settings_are_read_once_per_process(opened: tuple[Path, list[object]]) -> None:
    # docs/pam.md: a long-running service sees a changed otpgate.toml after its restart.
    config, authenticators = opened
    assert login(config, "1234000000") == PAMH.PAM_AUTH_ERR
    config.write_text("[store]\nurl = 'not a store'\n")
    assert login(config, "1234" + code("alice")) == PAMH.PAM_SUCCESS
    assert len(authenticators) == 1


def test_closed_at_exit_and_opened_again_after(opened: tuple[Path, list[object]]) -> None:
    from otpgate.login.authenticator import Authenticator

    config, authenticators = opened
    assert login(config, "1234000000") == PAMH.PAM_AUTH_ERR
    first = authenticators[0]
    assert isinstance(first, Authenticator)
    per_process.pam().close()  # what atexit runs
    assert first.regulator.write_behind("alice", 0.0) is False  # its writer is closed
    assert login(config, "1234" + code("alice")) == PAMH.PAM_SUCCESS
    assert len(authenticators) == 2


def test_a_user_with_passkeys_only_is_refused_like_a_wrong_code(
    opened: tuple[Path, list[object]],
) -> None:
    """Issue 20: alice's only token went (she keeps a passkey); PAM cannot carry a passkey."""
    config, _ = opened
    store = open_store(
        f"sqlite:///{config.parent}/otpgate.db", key_file=str(config.parent / "otpgate.key")
    )
    try:
        assert isinstance(store, PasskeyStore)
        cred = b"\x06" * 16
        store.add_passkey(Passkey("pk-alice", "alice", cred, cred, 0, (), "0" * 36, "Key", 1.0))
        record = store.get("alice")
        assert record is not None and store.remove_token("alice", record.first().meta.id)
    finally:
        store.close()
    assert login(config, "1234" + code("alice")) == PAMH.PAM_AUTH_ERR
    assert login(config, "1234000000") == PAMH.PAM_AUTH_ERR
