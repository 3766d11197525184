"""Challenge-response with ``otpgate serve --workers 2``: either leg may reach either worker."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from otpgate.otp.algorithms import totp
from procs import serving

from ..servers import make_store, write_gate_config

pytestmark = [pytest.mark.slow]

USERS = [(f"w{i}", "4321", f"workers-pi-key-{i:05d}".encode()) for i in range(8)]


def _check(base: str, **form: str) -> dict[str, object]:
    # A new connection each time: the workers share the socket, so requests spread.
    with httpx.Client(base_url=base, timeout=30) as client:
        body: dict[str, object] = client.post("/validate/check", data=form).json()
        return body


def test_every_challenge_is_answered_whichever_worker_gets_it(tmp_path: Path) -> None:
    url, key_file = make_store(tmp_path, USERS)
    extra = "\n[privacyidea]\nenabled = true\nchallenge_response = true\n"
    config = write_gate_config(tmp_path, url, key_file, extra)
    with serving(config, tmp_path, "--workers", "2") as port:
        base = f"http://127.0.0.1:{port}"
        accepted = []
        for name, pin, key in USERS:
            first = _check(base, user=name, **{"pass": pin})
            detail = first["detail"]
            assert isinstance(detail, dict)
            tid = detail["transaction_id"]
            second = _check(base, user=name, transaction_id=tid, **{"pass": totp(key, time.time())})
            result = second["result"]
            assert isinstance(result, dict)
            accepted.append(result["value"])
    # Kept per process, about half would fail: (1/2)^8 that all succeed by chance.
    assert accepted == [True] * len(USERS)
