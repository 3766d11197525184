"""``serve --workers N`` shares the PIN hash slots out: one hash per CPU for the whole
gate, not per worker (issue 23; login/pins.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from otpgate.cli import serve
from otpgate.login import pins

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("env", "slots"),
    [
        ({}, None),
        ({"OTPGATE_HASH_SLOTS": "3"}, 3),
        ({"OTPGATE_HASH_SLOTS": "0"}, None),
        ({"OTPGATE_HASH_SLOTS": "two"}, None),
        ({"OTPGATE_HASH_SLOTS": "-1"}, None),
        ({"OTPGATE_HASH_SLOTS": "٣"}, None),
    ],
)
def test_hash_slots_from_the_environment_else_the_cpus(
    env: dict[str, str], slots: int | None
) -> None:
    assert pins.hash_slots(env) == (slots if slots is not None else pins.usable_cpus())


@pytest.mark.parametrize("workers", [2, 3, 64])
def test_workers_share_the_cpus_and_the_variable_goes_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.delenv(pins.HASH_SLOTS_ENV, raising=False)
    monkeypatch.setattr(pins, "usable_cpus", lambda: 8)
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen["slots"] = os.environ.get(pins.HASH_SLOTS_ENV)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    conf = tmp_path / "gate.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\n[web]\nsession_secrets = ["{SECRET}"]\n'
    )
    config = serve.load_settings(str(conf))
    assert serve.run_gate(config, workers=workers) == 0
    assert seen["slots"] == str(max(8 // workers, 1))
    assert pins.HASH_SLOTS_ENV not in os.environ


def test_an_administrators_setting_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pins.HASH_SLOTS_ENV, "5")
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    conf = tmp_path / "gate.toml"
    conf.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\n[web]\nsession_secrets = ["{SECRET}"]\n'
    )
    serve.run_gate(serve.load_settings(str(conf)), workers=2)
    assert os.environ[pins.HASH_SLOTS_ENV] == "5"
