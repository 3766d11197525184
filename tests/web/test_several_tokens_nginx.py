"""A TOTP app and an HOTP spare through nginx ``auth_request`` with Basic; one removed.

Real processes: nginx (examples/nginx/otpgate.conf) in front of gate A, and
gate B beside it, each ``otpgate serve --workers 2``, sharing PostgreSQL and
Redis.  alice signs in with a code of either token.  Then the spare is
removed with ``otpgate token remove`` (the configuration names Redis, so the
command announces it): the spare's credential, lingering in every worker a
moment before, is refused on the very next request everywhere, although
``state_ttl`` is an hour.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest

from otpgate.cli import main
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import Token, TokenType, parse_token_type
from otpgate.store import open_store
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord
from procs import serving

from .servers import run_nginx, write_gate_config

pytestmark = [pytest.mark.slow, pytest.mark.nginx]

PIN = "2468"
APP_KEY = b"several-app-key-0001"
SPARE_KEY = b"several-spare-key-02"
SPARE = parse_token_type("HOTP/E")


def basic(password: str) -> dict[str, str]:
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "*/*"}


def get(base: str, path: str, headers: dict[str, str]) -> int:
    # A new connection each time: the kernel spreads them over the workers.
    with httpx.Client(base_url=base, timeout=20) as c:
        return c.get(path, headers=headers).status_code


def _store(url: str, directory: Path) -> tuple[Path, str]:
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    store = open_store(url, key_file=str(key_file))
    try:
        pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
        store.add(UserRecord("alice", TokenType("HOTP", 30, 6), APP_KEY, pin))
        spare = store.add_token("alice", OtpToken(SPARE, SPARE_KEY, TokenMeta(name="spare")))
    finally:
        store.close()
    return key_file, spare.meta.id


def _config(directory: Path, url: str, key_file: Path, state_url: str, prefix: str) -> Path:
    directory.mkdir(exist_ok=True)
    extra = f"""
[auth]
state_ttl = 3600
# The removed token's credential, re-sent below, counts as wrong: room for those.
throttle_free_failures = 30

[state]
url = "{state_url}"
key_prefix = "{prefix}"
"""
    return write_gate_config(directory, url, key_file, extra)


def test_either_token_through_nginx_and_a_removed_one_stops_everywhere(
    tmp_path: Path,
    postgres_url: str,
    redis_server_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import require_tool

    nginx = require_tool("nginx")
    key_file, spare_id = _store(postgres_url, tmp_path)
    dirs = [tmp_path / "a", tmp_path / "b"]
    configs = [_config(d, postgres_url, key_file, redis_server_url, redis_prefix) for d in dirs]
    with (
        serving(configs[0], dirs[0], "--workers", "2") as port_a,
        serving(configs[1], dirs[1], "--workers", "2") as port_b,
        run_nginx(nginx, dirs[0], port_a) as nginx_port,
    ):
        site, b = f"http://127.0.0.1:{nginx_port}", f"http://127.0.0.1:{port_b}"
        assert get(site, "/app/api", {"Accept": "*/*"}) == 401
        app = basic(PIN + totp(APP_KEY, time.time()))
        spare = basic(PIN + Token(SPARE, SPARE_KEY).code(0))
        # Either token gets in through nginx, and lingers on every worker of both gates.
        assert get(site, "/app/api", app) == 200
        assert get(site, "/app/api", spare) == 200
        for _ in range(6):
            assert get(site, "/app/other", spare) == 200
            assert get(b, "/auth", spare) == 200

        # The administrator removes the spare; the command tells every gate through Redis.
        monkeypatch.setenv("OTPGATE_CONFIG", str(configs[1]))
        assert main(["token", "remove", "alice", spare_id]) == 0
        for _ in range(6):
            assert get(site, "/app/other", spare) == 401
            assert get(b, "/auth", spare) == 401
        # The app still signs in (with a code not used yet).
        fresh = basic(PIN + totp(APP_KEY, time.time() + 30))
        assert get(site, "/app/api", fresh) == 200
