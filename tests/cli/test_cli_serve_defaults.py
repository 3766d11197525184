"""`otpgate serve` runs with a production gate's defaults: no access log, uvicorn's
own messages from warning up; `--access-log` turns the request log on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from otpgate.audit.decision_log import logging_config
from otpgate.cli import build_parser
from otpgate.cli.serve import FAST_PROTOCOL, start_line
from otpgate.config.loader import load_config
from procs import serving


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.access_log is False and args.log_level == "warning"
    args = build_parser().parse_args(["serve", "--access-log", "--log-level", "info"])
    assert args.access_log is True and args.log_level == "info"
    # The old spelling still parses (scripts use it); it is the default now.
    assert build_parser().parse_args(["serve", "--no-access-log"]).access_log is False


def test_help_documents_the_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--access-log" in out and "(default: off;" in out
    assert "default warning" in out


def test_access_log_survives_the_default_level() -> None:
    # uvicorn's log_level would raise the access logger to warning too and
    # silence --access-log; the levels are set per logger instead.
    on = logging_config("warning", True)["loggers"]
    assert on["uvicorn"]["level"] == "WARNING" and on["uvicorn.access"]["level"] == "INFO"
    off = logging_config("info", False)["loggers"]
    assert off["uvicorn.error"]["level"] == "INFO" and off["uvicorn.access"]["level"] == "WARNING"


def _serve_and_log(tmp_path: Path, *flags: str, web: str = "") -> str:
    config = tmp_path / "gate.toml"
    config.write_text(
        '[store]\nurl = "memory:"\n[web]\nsession_secrets = ["' + "s" * 40 + '"]\n' + web
    )
    log = tmp_path / f"gate{len(flags)}.log"
    with serving(config, tmp_path, *flags, log=log) as port:
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            assert httpx.get(f"http://127.0.0.1:{port}/auth").status_code == 401
    return log.read_text().replace(f":{port}", ":PORT")


@pytest.mark.slow
def test_default_logs_nothing_per_request_and_access_log_logs_each(tmp_path: Path) -> None:
    quiet = _serve_and_log(tmp_path)
    assert "GET /" not in quiet
    assert "Uvicorn running" not in quiet  # an info message: below the default level
    # One line says where it listens, with what: the only one at the default level.
    assert quiet.splitlines() == [
        "INFO:     otpgate serving http://127.0.0.1:PORT with store memory:, state in this process"
    ]
    loud = _serve_and_log(tmp_path, "--access-log")
    assert loud.count('"GET /healthz HTTP/1.1" 200') == 3
    assert loud.count('"GET /auth HTTP/1.1" 401') == 3


@pytest.mark.slow
def test_the_start_line_in_json_and_silenced_with_errors_only(tmp_path: Path) -> None:
    [line] = _serve_and_log(tmp_path, web='log_format = "json"\n').splitlines()
    record = json.loads(line)
    assert record["logger"] == "otpgate.serve" and record["event"] == "start"
    assert record["listen"] == "http://127.0.0.1:PORT" and record["store"] == "memory:"
    assert _serve_and_log(tmp_path, "--log-level", "error") == ""


def test_the_start_line_masks_passwords() -> None:
    config = load_config(
        None,
        env={},
        overrides={
            "store": {"url": "postgresql://gate:s3cret-pw@db.example.net/otpgate"},
            "state": {"url": "redis://:r3dis-pw@cache.example.net:6379/0"},
            "web": {"listen": "[::1]:9191"},
        },
    )
    line, fields = start_line(config)
    assert line == (
        "otpgate serving http://[::1]:9191 with store postgresql://gate:***@db.example.net/"
        "otpgate, state redis://:***@cache.example.net:6379/0"
    )
    assert "pw" not in json.dumps(fields)
    line, fields = start_line(load_config(None, env={}), workers=4)
    assert line.endswith("state shared by the 4 workers of this run") and fields["workers"] == 4


@pytest.mark.parametrize(
    ("flags", "http"), [([], FAST_PROTOCOL), (["--no-fast-path"], "httptools")]
)
def test_the_fast_path_is_the_default_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], http: str
) -> None:
    import uvicorn

    from otpgate.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    config = tmp_path / "gate.toml"
    config.write_text('[store]\nurl = "memory:"\n[web]\nsession_secrets = ["' + "s" * 40 + '"]\n')
    assert main(["serve", "--config", str(config), *flags]) == 0
    assert seen["http"] == http and seen["access_log"] is False
    # The protocol uvicorn is given is importable by name (--workers starts processes).
    assert uvicorn.importer.import_from_string(FAST_PROTOCOL).__name__ == "FastAuthProtocol"
