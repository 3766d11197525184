"""The gate's own log: JSON lines on request, one line per decision at info, no secrets."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from clitools import Runner
from otpgate.audit.decision_log import (
    DECISION_LOG,
    LINGER,
    JSONFormatter,
    log_decision,
    logging_config,
)
from otpgate.login.reasons import Reason
from otpgate.otp.algorithms import totp
from otpgate.store import open_store
from procs import serving


def _record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    records = [r for r in caplog.records if r.name == "otpgate.decision"]
    assert len(records) == 1
    return records[0]


def test_one_info_line_per_decision(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="otpgate.decision"):
        log_decision("auth", "al\nice", "192.0.2.1", False, "no_match", 4.0)
    record = _record(caplog)
    assert record.levelno == logging.INFO
    # The text form escapes what a client sent; the JSON form carries the fields.
    assert record.getMessage() == "auth reject user='al\\nice' ip=192.0.2.1 reason=no_match"
    line = json.loads(JSONFormatter().format(record))
    assert line["event"] == "decision" and line["user"] == "al\nice"
    assert line["result"] == "reject" and line["retry_after"] == 4.0
    assert set(line) == {
        "ts", "level", "logger", "msg", "event", "frontend", "result", "reason", "user", "ip",
        "retry_after",
    }  # fmt: skip


def test_lingering_reuse_and_warning_level_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="otpgate.decision"):
        log_decision("auth", "alice", "192.0.2.1", True, "linger", None)
    assert not [r for r in caplog.records if r.name == "otpgate.decision"]
    with caplog.at_level(logging.WARNING, logger="otpgate.decision"):
        log_decision("auth", "alice", "192.0.2.1", True, "otp", None)
    assert not [r for r in caplog.records if r.name == "otpgate.decision"]
    assert DECISION_LOG.name == "otpgate.decision"
    assert LINGER == Reason.LINGER  # the audit log's copy of the name, below the login package


def test_long_user_names_are_cut(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="otpgate.decision"):
        log_decision("api", "x" * 5000, "192.0.2.1", False, "unknown_user", None)
    assert len(json.loads(JSONFormatter().format(_record(caplog)))["user"]) == 256


def test_logging_config_json_formats_every_handler() -> None:
    config = logging_config("info", True, "json")
    assert config["formatters"]["default"] == {"()": "otpgate.audit.decision_log.JSONFormatter"}
    assert config["formatters"]["access"] == {"()": "otpgate.audit.decision_log.JSONFormatter"}
    assert config["loggers"]["otpgate"]["level"] == "INFO"
    text = logging_config("info", True, "text")["formatters"]["default"]
    assert text["()"] == "uvicorn.logging.DefaultFormatter"


@pytest.mark.slow
def test_serve_writes_json_decision_lines(run: Runner, tmp_path: Path) -> None:
    conf = tmp_path / "otpgate.toml"
    assert run("init", "--config", str(conf)).code == 0
    conf.write_text(conf.read_text() + 'log_format = "json"\ncookie_secure = false\n')
    assert run("config", "check", "--config", str(conf)).code == 0
    r = run("user", "add", "ann", "--config", str(conf), "--pin-stdin", stdin="4711\n")
    assert r.code == 0, r.err
    store = open_store(f"sqlite:///{tmp_path}/otpgate.db")
    key = store.get("ann").key
    store.close()
    now = time.time()
    code, later = totp(key, now), totp(key, now + 30)  # a wrong PIN uses up its code
    with serving(conf, tmp_path, "--log-level", "info") as port:
        for password in ("0000" + code, "4711" + later, "4711" + later):
            auth = base64.b64encode(f"ann:{password}".encode()).decode()
            httpx.get(f"http://127.0.0.1:{port}/auth", headers={"Authorization": "Basic " + auth})
    log = tmp_path / "gate.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    decisions = [line for line in lines if line.get("event") == "decision"]
    # The wrong PIN, then the login; the third request lingers and is not a new decision.
    assert [(d["result"], d["reason"]) for d in decisions] == [
        ("reject", "bad_pin"),
        ("accept", "otp"),
    ], decisions
    assert {d["user"] for d in decisions} == {"ann"} and decisions[0]["frontend"] == "auth"
    text = log.read_text()
    assert code not in text and later not in text and "4711" not in text
    assert any(line["logger"].startswith("uvicorn") for line in lines)
