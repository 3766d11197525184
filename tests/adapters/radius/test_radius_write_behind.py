"""RADIUS asks for failure counts to be written behind the answer (issue 9, item 9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.adapters import radius
from otpgate.login.authenticator import Authenticator

from ..gate_users import make_gate


@pytest.fixture
def authenticator(tmp_path: Path) -> Iterator[Authenticator]:
    config = make_gate(tmp_path, {"alice": "1234"})
    radius._authenticator = radius.open_authenticator_for(str(config))
    try:
        yield radius._authenticator
    finally:
        radius.detach()


def test_a_wrong_code_is_counted_after_the_answer(
    authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    real = Authenticator.attempt

    def recording(self: Authenticator, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("write_behind", False))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Authenticator, "attempt", recording)
    request = (("User-Name", "alice"), ("User-Password", "1234000000"))
    assert radius.authenticate(request)[0] == radius.RLM_MODULE_REJECT
    assert asked == [True]
    assert authenticator.flush(5)
    record = authenticator.store.get("alice")
    assert record is not None and record.state.failures == 1
