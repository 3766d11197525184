"""A passkey challenge made by one gate is answered at another: two `otpgate serve
--workers 2` sharing PostgreSQL and Redis, as two hosts behind one name would.

The options come from gate A, the browser's answer goes to gate B (and every
request on a new connection, so the workers take turns too); B finds the
challenge in Redis and signs the user in.  The same answer sent again, to
either gate, finds no challenge: single use across hosts.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from otpgate.login.passkeys import Ceremonies, RelyingParty
from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from otpgate.store import open_store
from procs import serving
from soft_authenticator import SoftAuthenticator, challenge_of

from .conftest import csrf_token
from .test_shared_gates import audit, gate_config, make_pg_store

pytestmark = pytest.mark.slow

ORIGIN = "https://auth.example.com"
WEB = f'webauthn_rp_id = "example.com"\nwebauthn_origins = ["{ORIGIN}"]\n'


def register(store_url: str, key_file: Path) -> SoftAuthenticator:
    """alice's passkey, registered behind the gates' back."""
    store = open_store(store_url, key_file=str(key_file))
    try:
        rp = RelyingParty("example.com", (ORIGIN,), "test", b"k" * 32)
        cer = Ceremonies(rp, Challenges(LocalState()), store)  # type: ignore[arg-type]
        soft = SoftAuthenticator(origin=ORIGIN)
        handle, options = cer.registration_options("alice", time.time())
        cer.register("alice", handle, soft.create(challenge_of(options)), "Laptop", time.time())
        return soft
    finally:
        store.close()


def test_a_challenge_from_one_gate_is_answered_at_another_once(
    tmp_path: Path, postgres_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    key_file = make_pg_store(postgres_url, tmp_path)
    soft = register(postgres_url, key_file)
    dirs = [tmp_path / "a", tmp_path / "b"]
    configs = []
    for d in dirs:
        config = gate_config(d, postgres_url, key_file, redis_server_url, redis_prefix)
        text = config.read_text().replace(
            "cookie_secure = false\n", "cookie_secure = false\n" + WEB
        )
        config.write_text(text)
        configs.append(config)
    with (
        serving(configs[0], dirs[0], "--workers", "2") as port_a,
        serving(configs[1], dirs[1], "--workers", "2") as port_b,
        httpx.Client(timeout=20) as browser,
    ):
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        token = csrf_token(browser.get(f"{a}/login").text)
        got = browser.post(f"{a}/passkey/options", data={"purpose": "login", "csrf": token})
        assert got.status_code == 200, got.text
        options = got.json()
        fields = {
            "csrf": token,
            "rd": "",
            "handle": options["handle"],
            "credential": soft.get(challenge_of(options["publicKey"])),
        }
        signed_in = browser.post(f"{b}/passkey", data=fields)
        assert signed_in.status_code == 303, signed_in.text
        assert "otpgate_session=" in signed_in.headers["set-cookie"]
        browser.cookies.delete("otpgate_session")  # the form's token was for no session
        for gate in (a, b):
            again = browser.post(f"{gate}/passkey", data=fields)
            assert again.status_code == 401
    results = [(x["result"], x["reason"]) for x in audit(*dirs) if x.get("user") == "alice"]
    assert results.count(("accept", "passkey")) == 1
    assert results.count(("reject", "passkey_refused")) == 2
