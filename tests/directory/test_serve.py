"""``otpgate serve`` with a [directory]: slapd stopped and started again under it.

No login is accepted while the directory is away, no answer is a 5xx,
``/healthz`` says ``degraded``, and the gate answers again without a restart.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest

from clitools import Runner
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import generate
from procs import serving
from slapd_proc import OwnSlapd

from .gate import openldap, write_config

pytestmark = [pytest.mark.slapd, pytest.mark.slow]

KEY = bytes(range(1, 21))
TOKEN = Token(parse_token_type("HOTP/T30"), KEY)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "*/*"}


def code(steps: int = 0) -> str:
    return generate(TOKEN, now=time.time() + 30 * steps)


def test_slapd_stopped_and_started_again(slapd: OwnSlapd, run: Runner, isolated: Path) -> None:
    config = write_config(
        isolated, openldap(slapd, timeout=1), "\n[auth]\nmax_linger = 0\nguess_budget = 0\n"
    )
    assert run("init", "--store", f"sqlite:///{isolated}/otpgate.db").code == 0
    added = run(
        "user", "add", "alice", "--config", str(config), "--key", KEY.hex(), "--pin-stdin",
        stdin="4711\n",
    )  # fmt: skip
    assert added.code == 0, added.err
    with (
        serving(config, isolated) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as web,
    ):
        ok = web.get("/auth", headers=basic("alice", "4711" + code()))
        assert ok.status_code == 200 and ok.headers["remote-user"] == "alice"
        assert web.get("/healthz").json() == {"status": "ok"}

        slapd.stop()
        statuses = [
            web.get("/auth", headers=basic("alice", "4711" + code(step))).status_code
            for step in (1, 1, -1, 1)
        ]
        assert statuses == [401] * 4  # refused, never accepted, never a 5xx
        health = web.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "degraded", "directory": "unreachable"}

        slapd.start()
        back = web.get("/auth", headers=basic("alice", "4711" + code(1)))
        assert back.status_code == 200 and back.headers["remote-user"] == "alice"
        assert web.get("/healthz").json() == {"status": "ok"}
    log = (isolated / "gate.log").read_text()
    assert log.count("directory unavailable, logins refused") == 1, log
    assert "Traceback" not in log
