"""Redis stopped under a running gate, and started again: the gate goes on, then shares again."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from procs import serving
from redis_proc import own_redis

from .servers import make_store
from .test_shared_gates import FREE, USERS, audit, basic, evaluated, gate_config, get, password

pytestmark = pytest.mark.slow

# RedisState.retry_interval: how long a worker that saw Redis fail waits before trying again.
RETRY_INTERVAL = 1.0


def health(base: str) -> tuple[int, str]:
    r = get(base, "/healthz")
    return r.status_code, r.json()["status"]


def test_redis_stopped_and_started_again(tmp_path: Path, redis_prefix: str) -> None:
    url, key_file = make_store(tmp_path, [(n, pin, key) for n, (pin, key) in USERS.items()])
    with own_redis(tmp_path) as redis:
        config = gate_config(tmp_path / "g", url, key_file, redis.url, redis_prefix)
        with serving(config, tmp_path / "g", "--workers", "2") as port:
            base = f"http://127.0.0.1:{port}"
            assert health(base) == (200, "ok")
            assert get(base, "/auth", **basic("alice", password("alice"))).status_code == 200

            redis.stop()
            statuses = [
                get(base, "/auth", **basic("mallory", USERS["mallory"][0] + "000000")).status_code
                for _ in range(12)
            ]
            # Logins go on: the store decides, the throttle counts per worker.
            ok = get(base, "/auth", **basic("carol", password("carol")))
            assert ok.status_code == 200 and ok.headers["remote-user"] == "carol"
            assert set(statuses) == {401}
            assert FREE + 1 <= evaluated(audit(tmp_path / "g"), "mallory") <= 2 * (FREE + 1)
            answers = {health(base) for _ in range(4)}
            assert answers == {(200, "degraded")}
            metrics = get(base, "/metrics").text
            assert "otpgate_state_degraded 1.0" in metrics

            redis.start()  # on the same port, empty
            # Every worker tries again at its first call after the retry interval.
            time.sleep(RETRY_INTERVAL + 0.2)
            deadline = time.monotonic() + 20
            while {health(base) for _ in range(4)} != {(200, "ok")}:
                assert time.monotonic() < deadline, "the gate did not see Redis come back"
                time.sleep(0.1)
            # The shared throttle holds again: a fresh user's guesses over both
            # workers meet one backoff.
            for _ in range(16):
                r = get(base, "/auth", **basic("alice", USERS["alice"][0] + "000000"))
                assert r.status_code == 401
            assert evaluated(audit(tmp_path / "g"), "alice") == FREE + 1
            with httpx.Client(base_url=base) as c:
                assert c.get("/healthz").status_code == 200
