"""POST /api/v1/radius: FreeRADIUS's rlm_rest asks the gate (docs/radius.md, every core).

The end-to-end run with FreeRADIUS is tests/adapters/radius/test_freeradius.py
(every test there holds for rlm_python3 and for rlm_rest to ``serve --workers 2``).
"""

from __future__ import annotations

from typing import Any

import pytest

from otpgate._limits import MAX_PASSWORD
from otpgate.adapters.radius import REFUSED
from otpgate.errors import StoreError
from otpgate.web.api.radius import attributes

from .conftest import API_KEY, PIN, code
from .conftest import App as G

KEYED = {"X-API-Key": API_KEY}


def rest_body(**attrs: str) -> dict[str, Any]:
    """The request's attributes as rlm_rest encodes them (body = json, no data)."""
    return {name.replace("_", "-"): {"type": "string", "value": [v]} for name, v in attrs.items()}


def ask(gate: G, headers: dict[str, str] = KEYED, **attrs: str) -> Any:
    return gate.client.post("/api/v1/radius", json=rest_body(**attrs), headers=headers)


def test_accept_is_204_and_a_replay_is_a_reject_with_the_message(gate: G) -> None:
    password = PIN + code(gate.clock)
    first = ask(gate, User_Name="alice", User_Password=password, Calling_Station_Id="192.0.2.7")
    assert first.status_code == 204 and first.content == b""
    # RADIUS does not linger: the same code again is a replay (rlm_python3 does the same).
    again = ask(gate, User_Name="alice", User_Password=password, Calling_Station_Id="192.0.2.7")
    assert again.status_code == 401
    assert again.json() == {"reply:Reply-Message": REFUSED}
    assert gate.metrics().decisions("radius", "replayed") == 1


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_an_api_key_is_required(gate: G, headers: dict[str, str]) -> None:
    r = ask(gate, headers, User_Name="alice", User_Password=PIN + code(gate.clock))
    assert r.status_code == 403
    assert gate.metrics().decisions("radius", "otp") == 0


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"User_Name": "alice"},
        {"User_Name": "", "User_Password": "1"},
        {"User_Name": "al\nice", "User_Password": "1"},
        {"User_Name": "alice", "User_Password": "1" * (MAX_PASSWORD + 1)},
    ],
)
def test_unusable_attributes_are_a_reject(gate: G, attrs: dict[str, str]) -> None:
    r = ask(gate, **attrs)
    assert r.status_code == 401 and r.json() == {"reply:Reply-Message": REFUSED}


def test_the_client_is_calling_station_id_else_the_nas(gate: G) -> None:
    for _ in range(4):  # three free failures, then the throttle: per (user, address)
        r = ask(gate, User_Name="alice", User_Password=PIN + "000000", Calling_Station_Id="x1")
    assert r.json()["reply:Reply-Message"].startswith("Too many failed attempts")
    ok = ask(gate, User_Name="alice", User_Password=PIN + code(gate.clock), NAS_IP_Address="10.1")
    assert ok.status_code == 204


def test_unknown_user_is_notfound_only_with_fall_through(make_gate: Any) -> None:
    plain = make_gate()
    assert ask(plain, User_Name="nobody", User_Password="1234000000").status_code == 401
    falls = make_gate(auth={"fall_through": True})
    assert ask(falls, User_Name="nobody", User_Password="1234000000").status_code == 404


def test_store_trouble_is_503(gate: G, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise StoreError("down")

    monkeypatch.setattr(gate.store, "get", broken)
    r = ask(gate, User_Name="alice", User_Password=PIN + code(gate.clock))
    assert r.status_code == 503


def test_attributes_reads_only_rlm_rest_values() -> None:
    body = {
        "User-Name": {"type": "string", "value": ["bob", "second"]},
        "User-Password": {"type": "string", "value": [7]},
        "Calling-Station-Id": "not the shape",
        "NAS-IP-Address": {"type": "ipaddr", "value": []},
        "Other": {"type": "string", "value": ["x"]},
    }
    assert attributes(body) == {"User-Name": "bob"}


def test_the_address_is_only_claimed(gate: G, monkeypatch: pytest.MonkeyPatch) -> None:
    # As the JSON API's "ip": an API key must not buy a known address's own budget.
    from otpgate.login.authenticator import Authenticator

    seen: list[bool] = []
    real = Authenticator.attempt

    def spy(self: Authenticator, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("proven", True))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Authenticator, "attempt", spy)
    ask(gate, User_Name="alice", User_Password=PIN + code(gate.clock), Calling_Station_Id="x")
    assert seen == [False]
