"""`otpgate demo`: the README's first command, end to end."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from otpgate.otp.algorithms import totp
from otpgate.otp.keys import decode_key
from procs import OTPGATE, free_port, otpgate_env, stop, wait_for_port
from web.conftest import csrf_token

pytestmark = pytest.mark.slow

ENV = otpgate_env({**os.environ, "PYTHONUNBUFFERED": "1"})


def test_demo_sets_up_once_and_lets_the_newcomer_in(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*OTPGATE, "demo", "--dir", str(home), "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    try:
        wait_for_port(port, proc, log, "otpgate demo")
        text = log.read_text()
        secret = re.search(r"secret=([A-Z2-7]+)", text)
        pin = re.search(r"PIN:  (\d+)", text)
        assert secret and pin, text
        assert f"http://127.0.0.1:{port}/demo/" in text
        key = decode_key(secret.group(1), "base32")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            first = c.get("/demo/")
            assert first.status_code == 302
            page = c.get("/login?rd=/demo/")
            r = c.post(
                "/login",
                data={
                    "username": "demo",
                    "pin": pin.group(1),
                    "code": totp(key, time.time()),
                    "csrf": csrf_token(page.text),
                    "rd": "/demo/",
                },
            )
            assert r.status_code == 303 and r.headers["location"] == "/demo/"
            demo = c.get("/demo/")
            assert demo.status_code == 200 and "Hello <strong>demo</strong>" in demo.text
    finally:
        stop(proc)
    assert oct((home / "otpgate.key").stat().st_mode & 0o777) == "0o600"
    assert oct((home / "session.secret").stat().st_mode & 0o777) == "0o600"
    again = subprocess.run(
        [*OTPGATE, "demo", "--dir", str(home), "--no-serve"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    assert "exists" in again.stdout
    assert "PIN:" not in again.stdout and secret.group(1) not in again.stdout
