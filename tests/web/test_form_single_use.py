"""A code typed into the login form is used once, and every session made is audited.

The attack (issue 9, item 10): the same PIN+code typed into the form in a
second browser within the linger opened a second session (the Basic linger
cache answered it), and that session was not in the audit log (lingering
re-checks are not audited).
"""

from __future__ import annotations

import base64
import io
import json

from otpgate.audit.writer import AuditLog

from .conftest import PIN, AppFactory, code, csrf_token
from .conftest import App as G


def with_audit(gate: G) -> io.StringIO:
    stream = io.StringIO()
    gate.authenticator.audit = AuditLog(stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def submit(gate: G, user: str, password_code: str, **headers: str) -> object:
    gate.client.cookies.clear()  # a browser of its own
    page = gate.client.get("/login")
    form = {"username": user, "pin": PIN, "code": password_code, "csrf": csrf_token(page.text)}
    return gate.client.post("/login", data=form, headers=headers)


def test_a_code_opens_one_session_only(gate: G) -> None:
    audit = with_audit(gate)
    otp = code(gate.clock)
    first = submit(gate, "alice", otp, **{"X-Forwarded-For": "192.0.2.1"})
    assert first.status_code == 303  # type: ignore[attr-defined]
    gate.clock.advance(5)
    second = submit(gate, "alice", otp, **{"X-Forwarded-For": "192.0.2.2"})
    assert second.status_code == 401  # type: ignore[attr-defined]
    assert "otpgate_session" not in second.cookies  # type: ignore[attr-defined]
    sessions = [e for e in lines(audit) if e["reason"] == "session_created"]
    assert len(sessions) == 1
    assert sessions[0]["user"] == "alice" and sessions[0]["ip"] == "192.0.2.1"
    assert sessions[0]["result"] == "accept" and "ts" in sessions[0]
    text = audit.getvalue()
    assert otp not in text and PIN not in text


def test_a_code_used_in_another_gate_process_opens_no_session(make_gate: AppFactory) -> None:
    a = make_gate()
    otp = code(a.clock)
    assert submit(a, "alice", otp).status_code == 303  # type: ignore[attr-defined]
    # Another process on the same store: the stored last OTP would linger there.
    b = make_gate(store=a.store, clock=a.clock)
    assert submit(b, "alice", otp).status_code == 401  # type: ignore[attr-defined]


def test_basic_credentials_still_linger(gate: G) -> None:
    # Forward auth keeps the reference module's linger: browsers resend Basic.
    blob = base64.b64encode(f"alice:{PIN}{code(gate.clock)}".encode()).decode()
    headers = {"Authorization": f"Basic {blob}"}
    assert gate.client.get("/auth", headers=headers).status_code == 200
    gate.clock.advance(5)
    assert gate.client.get("/auth", headers=headers).status_code == 200


def test_a_code_used_by_basic_is_not_taken_by_the_form(gate: G) -> None:
    otp = code(gate.clock)
    blob = base64.b64encode(f"alice:{PIN}{otp}".encode()).decode()
    assert gate.client.get("/auth", headers={"Authorization": f"Basic {blob}"}).status_code == 200
    assert submit(gate, "alice", otp).status_code == 401  # type: ignore[attr-defined]


def test_every_session_is_audited(gate: G) -> None:
    audit = with_audit(gate)
    for _ in range(3):
        assert submit(gate, "alice", code(gate.clock)).status_code == 303  # type: ignore[attr-defined]
        gate.clock.advance(30)
    entries = lines(audit)
    assert [e["reason"] for e in entries].count("session_created") == 3
    assert [e["reason"] for e in entries].count("otp") == 3
