"""Every web front end asks for failure counts to be written behind the answer (issue 9, item 9).

The Authenticator side (the same operations for known and unknown users, no
failure lost) is tested in tests/login/test_enumeration.py.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from otpgate.login.authenticator import Authenticator

from .conftest import API_KEY, PIN, csrf_token
from .conftest import App as G


def test_forward_auth_login_and_api_write_failures_behind(
    gate: G, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    real = Authenticator.attempt

    def recording(self: Authenticator, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("write_behind", False))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Authenticator, "attempt", recording)
    blob = base64.b64encode(f"alice:{PIN}000000".encode()).decode()
    assert gate.client.get("/auth", headers={"Authorization": f"Basic {blob}"}).status_code == 401
    page = gate.client.get("/login")
    form = {"username": "alice", "pin": PIN, "code": "000001", "csrf": csrf_token(page.text)}
    assert gate.client.post("/login", data=form).status_code == 401
    body = {"user": "alice", "password": PIN + "000002"}
    r = gate.client.post("/api/v1/check", json=body, headers={"X-API-Key": API_KEY})
    assert r.status_code == 401
    assert asked == [True, True, True]
    # And the failures are counted in the store once written.
    assert gate.authenticator.flush(5)
    record = gate.store.get("alice")
    assert record is not None and record.state.failures == 3
