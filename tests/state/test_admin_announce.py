"""Admin commands announce their changes: a lock or PIN change reaches every gate at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from otpgate.cli import main
from otpgate.config.loader import load_config
from otpgate.login.assembly import open_authenticator
from otpgate.login.authenticator import Authenticator
from otpgate.otp.algorithms import totp

KEY_HEX = "3132333435363738393031323334353637383930"
KEY = bytes.fromhex(KEY_HEX)


def _authenticator(conf: Path) -> tuple[Authenticator, threading.Event]:
    auth = open_authenticator(load_config(conf, env={}))
    heard = threading.Event()
    forget = auth._memory.forget

    def hook(user: str) -> None:
        forget(user)
        heard.set()

    auth._memory.forget = hook  # type: ignore[method-assign]
    assert auth.state.subscribed.wait(10)  # type: ignore[attr-defined]
    return auth, heard


@pytest.mark.parametrize(
    "command",
    [["user", "lock", "ann"], ["user", "remove", "ann"], ["user", "set-pin", "ann", "--no-pin"]],
)
def test_admin_changes_reach_running_gates_at_once(
    command: list[str],
    tmp_path: Path,
    redis_server_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = f"sqlite:///{tmp_path}/a.db"
    key_file = tmp_path / "a.key"
    conf = tmp_path / "otpgate.toml"
    conf.write_text(
        f'[store]\nurl = "{db}"\nkey_file = "{key_file}"\n'
        "[auth]\nstate_ttl = 3600\n"  # an hour: what takes effect did so through Redis
        '[web]\nsession_secrets = ["announce-test-secret-0123456789"]\n'
        f'[state]\nurl = "{redis_server_url}"\nkey_prefix = "{redis_prefix}"\n'
    )
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    assert main(["init"]) == 0
    assert main(["user", "add", "ann", "--key", KEY_HEX, "--no-pin"]) == 0
    auth, heard = _authenticator(conf)
    try:
        now = time.time()
        password = totp(KEY, now)
        assert auth.login(auth.attempt("ann", password, "192.0.2.1"), now=now).ok
        assert auth.session_valid("ann", now, now=now)
        assert main(command) == 0
        assert heard.wait(10)
        assert not auth.session_valid("ann", now, now=now + 1)
        again = auth.check_cached(auth.attempt("ann", password, "192.0.2.1"), now=now + 1)
        assert again is None or not again.ok
    finally:
        auth.close()


def test_a_lock_from_the_admin_pages_reaches_the_other_gates(
    redis_server_url: str, redis_prefix: str
) -> None:
    # What web/admin/base.py wires: Administration over the announcing store.
    from otpgate.accounts.administration import Actor, Administration
    from otpgate.login.authenticator import AuthSettings
    from otpgate.otp.tokens import parse_token_type
    from otpgate.state.announce import AnnouncingStore
    from otpgate.state.redis import RedisState
    from otpgate.store.memory import MemoryStore
    from otpgate.store.records import Pin, UserRecord

    store = MemoryStore()
    store.add(UserRecord("ann", parse_token_type("HOTP/T30"), KEY, Pin("none", "")))
    settings = AuthSettings(state_ttl=3600)
    here = Authenticator(store, settings, state=RedisState(redis_server_url, redis_prefix))
    there = Authenticator(store, settings, state=RedisState(redis_server_url, redis_prefix))
    heard = threading.Event()
    forget = there._memory.forget

    def hook(user: str) -> None:
        forget(user)
        heard.set()

    there._memory.forget = hook  # type: ignore[method-assign]
    try:
        for auth in (here, there):
            assert auth.state.subscribed.wait(10)  # type: ignore[attr-defined]
        now = time.time()
        assert there.session_valid("ann", now, now=now)
        admin = Administration(AnnouncingStore(store, here.state), None)
        admin.lock(Actor("root", "web"), "ann", now + 1)
        assert heard.wait(10)
        assert not there.session_valid("ann", now, now=now + 2)
    finally:
        here.state.close()
        there.state.close()
