"""`otpgate serve` refuses bad settings in one line, before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from otpgate.cli import main
from otpgate.cli.serve import parse_listen


def test_listen_forms() -> None:
    assert parse_listen("127.0.0.1:9090") == ("127.0.0.1", 9090)
    assert parse_listen("[::1]:8080") == ("::1", 8080)


@pytest.mark.parametrize("bad", ["9090", "host:", ":80", "127.0.0.1:0", "127.0.0.1:99999", "a:b"])
def test_bad_listen_is_one_line(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--listen", bad]) == 1
    err = capsys.readouterr().err
    assert err.startswith("otpgate: --listen") and err.count("\n") == 1


def test_missing_secret_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('[store]\nurl = "memory:"\n')
    monkeypatch.delenv("OTPGATE_WEB_SESSION_SECRETS", raising=False)
    assert main(["serve", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "no session secret" in err and err.count("\n") == 1


def test_bad_config_names_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gate.toml"
    config.write_text("[web]\nportal = 3\ncolour = 'blue'\n")
    assert main(["serve", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "web.portal" in err and "web.colour" in err


@pytest.mark.parametrize("n", ["0", "65", "-1"])
def test_bad_worker_counts_are_one_line(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", n]) == 1
    err = capsys.readouterr().err
    assert err.startswith("otpgate: --workers") and err.count("\n") == 1


def test_workers_refuse_a_process_local_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('[store]\nurl = "memory:"\n[web]\nsession_secrets = ["x' + "y" * 40 + '"]\n')
    assert main(["serve", "--config", str(config), "--workers", "2"]) == 1
    assert "shared store" in capsys.readouterr().err
