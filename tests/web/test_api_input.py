"""The JSON API and input that is JSON but no fit for a login: a clear 400, no traceback.

The attacks (issue 9, item 7): ``[`` x 8000 answered 500 (an uncaught
``RecursionError``); a lone surrogate as the user name (``"\\ud800"``, legal
in JSON, not encodable as UTF-8) answered 503 from an SQL store with a
traceback logged per request, and was never throttled.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from .conftest import API_KEY, PIN, AppFactory, code, make_sqlite_store
from .conftest import App as G

HEADERS = {"Content-Type": "application/json", "X-API-Key": API_KEY}


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def sqlite_gate(make_gate: AppFactory, tmp_path: Path) -> G:
    return make_gate(store=make_sqlite_store(tmp_path))  # type: ignore[arg-type]


@pytest.mark.parametrize("opener", ["[" * 8000, '{"a":' * 1600])
def test_deeply_nested_json_is_a_400(
    gate: G, caplog: pytest.LogCaptureFixture, opener: str
) -> None:
    body = opener.encode()
    with caplog.at_level(logging.DEBUG):
        r = gate.client.post("/api/v1/check", content=body, headers=HEADERS)
    assert r.status_code == 400
    assert r.json() == {"ok": False, "error": "the body is nested too deeply"}
    no_traceback(caplog)


def test_moderate_nesting_elsewhere_in_the_body_is_fine(gate: G) -> None:
    body = json.dumps({"user": "alice", "password": PIN + code(gate.clock), "x": [[[[["x"]]]]]})
    r = gate.client.post("/api/v1/check", content=body.encode(), headers=HEADERS)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("user", "user must be 1 to 256 characters of valid Unicode without control characters"),
        ("password", "password must be valid Unicode (no lone surrogates)"),
    ],
)
def test_lone_surrogates_are_a_400_without_a_traceback(
    sqlite_gate: G, caplog: pytest.LogCaptureFixture, field: str, error: str
) -> None:
    fields = {"user": "alice", "password": PIN + code(sqlite_gate.clock)}
    fields[field] = "\ud800" + fields[field]
    body = json.dumps(fields)  # ASCII: the surrogate as the escape "\ud800"
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            r = sqlite_gate.client.post("/api/v1/check", content=body.encode(), headers=HEADERS)
            assert r.status_code == 400
            assert r.json() == {"ok": False, "error": error}
    no_traceback(caplog)
    # Nothing reached the Authenticator: no decision was counted.
    assert sqlite_gate.metrics().decisions("api", "store_error") == 0


def test_a_real_login_still_works_on_that_store(sqlite_gate: G) -> None:
    body = {"user": "alice", "password": PIN + code(sqlite_gate.clock)}
    r = sqlite_gate.client.post("/api/v1/check", json=body, headers=HEADERS)
    assert r.status_code == 200 and r.json() == {"ok": True, "user": "alice"}
