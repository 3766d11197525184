"""`otpgate serve --workers 2`: several processes, one set of rules."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import httpx

from otpgate.otp.algorithms import totp
from procs import serving

from .servers import make_store, write_gate_config

KEY = b"workers-test-key-0001"


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _gate_pid(port: int) -> int:
    # The uvicorn parent is the process whose command line names this port.
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and f"127.0.0.1:{port}".encode() in cmd:
                return int(entry)
    raise AssertionError("gate process not found")


def test_two_workers_share_sessions_lingering_and_replay_rules(tmp_path: Path) -> None:
    url, key_file = make_store(tmp_path, [("wendy", "4321", KEY)])
    config = write_gate_config(tmp_path, url, key_file)
    with serving(config, tmp_path, "--workers", "2") as port:
        workers = _children(_gate_pid(port))
        # uvicorn's supervisor may add a helper process; at least the two workers.
        assert len(workers) >= 2
        base = f"http://127.0.0.1:{port}"
        password = "4321" + totp(KEY, time.time())
        basic = "Basic " + base64.b64encode(f"wendy:{password}".encode()).decode()
        answers = []
        # Fresh connections spread the requests over both workers; the first
        # consumes the code, the rest linger (through the store in the other worker).
        for _ in range(12):
            with httpx.Client(base_url=base) as c:
                r = c.get("/auth", headers={"Authorization": basic, "Accept": "*/*"})
                answers.append((r.status_code, r.headers.get("remote-user")))
        assert answers == [(200, "wendy")] * 12
        # A wrong PIN with the same code is refused by whichever worker answers.
        wrong = "Basic " + base64.b64encode(f"wendy:9999{password[4:]}".encode()).decode()
        with httpx.Client(base_url=base) as c:
            assert c.get("/auth", headers={"Authorization": wrong}).status_code == 401


def _decisions_total(text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "otpgate_decisions":
            total += sum(s.value for s in family.samples if s.name == "otpgate_decisions_total")
    return total


def test_metrics_of_two_workers_add_up(tmp_path: Path) -> None:
    # Each scrape is answered by whichever worker takes the connection; the
    # totals must still be the gate's, never one worker's (counter "resets").
    url, key_file = make_store(tmp_path, [("wendy", "4321", KEY)])
    config = write_gate_config(tmp_path, url, key_file)
    with serving(config, tmp_path, "--workers", "2") as port:
        base = f"http://127.0.0.1:{port}"
        sent = 0
        seen = []
        for round_ in range(10):
            for _ in range(round_ + 1):
                with httpx.Client(base_url=base) as c:
                    # Not Basic credentials: decided (and counted) without the store.
                    assert c.get("/auth", headers={"Authorization": "Bearer x"}).status_code == 401
                sent += 1
            with httpx.Client(base_url=base) as c:
                r = c.get("/metrics")
            assert r.status_code == 200
            seen.append(_decisions_total(r.text))
            assert seen[-1] == sent
            assert "otpgate_build_info{" in r.text
        assert seen == sorted(seen)


def test_two_workers_throttle_as_one_without_redis(tmp_path: Path) -> None:
    # No [state] url: serve gives its workers a throttle file of their own.
    import json

    url, key_file = make_store(tmp_path, [("wendy", "4321", KEY)])
    audit = tmp_path / "audit.log"
    extra = f'[auth]\nthrottle_base = 300\naudit_log = "{audit}"\n'
    config = write_gate_config(tmp_path, url, key_file, extra)
    wrong = "Basic " + base64.b64encode(b"wendy:4321000000").decode()
    with serving(config, tmp_path, "--workers", "2") as port:
        for _ in range(16):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
                assert c.get("/auth", headers={"Authorization": wrong}).status_code == 401
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 16
    assert sum(line["reason"] != "throttled" for line in lines) == 4  # free failures + 1
