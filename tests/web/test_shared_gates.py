"""Several gates act as one: two `otpgate serve --workers 2` sharing PostgreSQL and Redis.

Real processes on free ports; the real PostgreSQL and Redis of this machine
(a database and a key prefix per test); a redis-server of the test's own
where the test stops it.  Evaluated guesses are counted in the audit logs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import TokenType
from otpgate.store import open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord
from procs import serving

from .conftest import csrf_token
from .servers import write_gate_config

pytestmark = pytest.mark.slow

USERS = {
    "mallory": ("1111", b"shared-mallory-key-01"),
    "alice": ("2222", b"shared-alice---key-02"),
    "carol": ("3333", b"shared-carol---key-03"),
}
FREE = 3  # throttle_free_failures: one process evaluates FREE + 1 guesses, then backs off


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "*/*"}


def password(user: str) -> str:
    pin, key = USERS[user]
    return pin + totp(key, time.time())


def make_pg_store(url: str, directory: Path) -> Path:
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    store = open_store(url, key_file=str(key_file))
    try:
        for name, (pin, key) in USERS.items():
            store.add(
                UserRecord(
                    name, TokenType("HOTP", 30, 6), key, Pin("hash", FAST_TEST_HASHER.hash(pin))
                )
            )
    finally:
        store.close()
    return key_file


def gate_config(
    directory: Path, store_url: str, key_file: Path, state_url: str, prefix: str
) -> Path:
    directory.mkdir(exist_ok=True)
    # No linger: every copy of a code is a fresh attempt, so "accepted once" is literal.
    # A long state_ttl and throttle backoff: whatever takes effect at once did so
    # through Redis, and no backoff runs out during the test.
    extra = f"""
[auth]
max_linger = 0
state_ttl = 3600
throttle_free_failures = {FREE}
throttle_base = 300
audit_log = "{directory / "audit.log"}"

[state]
url = "{state_url}"
key_prefix = "{prefix}"
"""
    return write_gate_config(directory, store_url, key_file, extra)


def audit(*directories: Path) -> list[dict[str, object]]:
    lines = []
    for d in directories:
        path = d / "audit.log"
        if path.exists():
            lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def get(base: str, path: str, **headers: str) -> httpx.Response:
    # A new connection each time: the kernel spreads them over the workers.
    with httpx.Client(base_url=base, timeout=20) as c:
        return c.get(path, headers=headers)


@contextlib.contextmanager
def two_gates(
    tmp_path: Path, postgres_url: str, state_url: str, prefix: str
) -> Iterator[tuple[str, str, list[Path]]]:
    key_file = make_pg_store(postgres_url, tmp_path)
    dirs = [tmp_path / "a", tmp_path / "b"]
    configs = [gate_config(d, postgres_url, key_file, state_url, prefix) for d in dirs]
    with (
        serving(configs[0], dirs[0], "--workers", "2") as port_a,
        serving(configs[1], dirs[1], "--workers", "2") as port_b,
    ):
        yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}", dirs


def guess_alternately(bases: list[str], user: str, n: int) -> list[int]:
    statuses = []
    for i in range(n):
        r = get(bases[i % len(bases)], "/auth", **basic(user, USERS[user][0] + "000000"))
        statuses.append(r.status_code)
    return statuses


def evaluated(lines: list[dict[str, object]], user: str) -> int:
    """Wrong guesses that were looked at (not answered "throttled")."""
    return sum(
        1
        for x in lines
        if x["user"] == user and x["result"] == "reject" and x["reason"] != "throttled"
    )


def test_two_gates_with_two_workers_each_act_as_one(
    tmp_path: Path, postgres_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    with two_gates(tmp_path, postgres_url, redis_server_url, redis_prefix) as (a, b, dirs):
        # 1. Wrong guesses alternated over both gates (and, by fresh connections,
        #    their workers): no more evaluated than one process allows.
        statuses = guess_alternately([a, b], "mallory", 24)
        assert set(statuses) == {401}
        assert evaluated(audit(*dirs), "mallory") == FREE + 1

        # 2. The same fresh code sent to all four workers at once: accepted once.
        pw = password("carol")
        barrier = threading.Barrier(8)
        answers: list[int] = []

        def send(base: str) -> None:
            with httpx.Client(base_url=base, timeout=20) as c:
                barrier.wait()
                answers.append(c.get("/auth", headers=basic("carol", pw)).status_code)

        threads = [threading.Thread(target=send, args=(x,)) for x in [a, b] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers) == [200] + [401] * 7
        fresh = [x for x in audit(*dirs) if x["user"] == "carol" and x["result"] == "accept"]
        assert len(fresh) == 1 and fresh[0]["fresh"] is True

        # 3. A session from gate A, used on B; logged out on A: the very next
        #    request on B is refused (state_ttl is an hour: Redis told B).
        with httpx.Client(base_url=a, timeout=20) as c:
            page = c.get("/login")
            login = c.post(
                "/login",
                data={
                    "username": "alice",
                    "pin": USERS["alice"][0],
                    "code": totp(USERS["alice"][1], time.time()),
                    "csrf": csrf_token(page.text),
                },
                headers={"Origin": a},
            )
            assert login.status_code == 303, login.text
            cookie = f"otpgate_session={c.cookies['otpgate_session']}"
            # B's workers read alice's record and cache it for state_ttl.
            for _ in range(6):
                assert get(b, "/auth", Cookie=cookie, Accept="*/*").status_code == 200
            out_page = c.get("/logout")
            out = c.post("/logout", data={"csrf": csrf_token(out_page.text)}, headers={"Origin": a})
            assert out.status_code == 200
        assert get(b, "/auth", Cookie=cookie, Accept="*/*").status_code == 401
        for _ in range(5):
            assert get(b, "/auth", Cookie=cookie, Accept="*/*").status_code == 401


def test_without_shared_state_the_same_guesses_get_further(
    tmp_path: Path, postgres_url: str
) -> None:
    # The control: the same pattern with each process on its own.
    with two_gates(tmp_path, postgres_url, "", "otpgate:") as (a, b, dirs):
        guess_alternately([a, b], "mallory", 24)
        assert evaluated(audit(*dirs), "mallory") >= 2 * (FREE + 1)
