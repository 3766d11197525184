"""Issue 18, items 13-15 over HTTP: errors said in title and alert, /lost with a working
token, keeping the PIN after a recovery code, what /account shows, signing out here or
everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from otpgate.audit.writer import AuditLog
from otpgate.login import recovery
from otpgate.otp.algorithms import totp
from otpgate.store.invitations import digest

from .conftest import PIN, App, AppFactory, code, csrf_token
from .test_selfservice_pages import NEW_PIN, choose_pin, invite, post, scan, service, signed_in


def title(text: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", text)
    assert found is not None
    return found.group(1)


def lost(g: App, **fields: str) -> Any:
    return post(g, "/lost", g.client.get("/lost"), **fields)


def test_two_different_pins_are_an_alert_and_the_title_says_error(gate: App) -> None:
    token = invite(gate)
    r = choose_pin(gate, token, NEW_PIN, "735192")
    assert r.status_code == 400
    assert '<p id="pin2-error" class="field-error" role="alert">The two PINs differ.</p>' in r.text
    assert title(r.text).startswith("Error: Set up your sign-in")
    # The refused field has the focus, not the first one.
    assert re.search(r'<input id="pin2"[^>]* autofocus', r.text)
    assert not re.search(r'<input id="pin"[^>]* autofocus', r.text)
    fine = gate.client.get(f"/enrol/{token}")
    assert "Error" not in title(fine.text) and 'role="alert"' not in fine.text
    de = {"Accept-Language": "de"}
    page = gate.client.get(f"/enrol/{token}", headers=de)
    fields = {"csrf": csrf_token(page.text), "step": "pin", "pin": NEW_PIN, "pin2": "1"}
    german = gate.client.post(f"/enrol/{token}", data=fields, headers=de)
    assert title(german.text).startswith("Fehler: ")


def test_a_current_code_on_the_lost_page_says_the_token_still_works(gate: App) -> None:
    r = lost(gate, username="alice", pin=PIN, code=code(gate.clock))
    assert r.status_code == 200 and "Your token still works" in r.text
    assert 'role="status"' in r.text and '<a href="login">Sign in</a>' in r.text
    assert gate.store.list_invitations() == []  # nothing was changed
    # A wrong PIN, a wrong code or the same code again: the one answer for all failures.
    for pin, otp in ((PIN, code(gate.clock)), ("9999", code(gate.clock, offset=1)), (PIN, "1")):
        r = lost(gate, username="alice", pin=pin, code=otp)
        assert r.status_code == 401 and "Wrong user name, PIN or recovery code." in r.text
        assert "still works" not in r.text


def test_after_a_recovery_code_the_pin_is_kept_with_one_click(gate: App) -> None:
    codes = recovery.generate(1)
    gate.store.set_recovery_codes("alice", [recovery.digest("alice", codes[0])])
    r = lost(gate, username="alice", pin=PIN, code=codes[0])
    assert r.status_code == 303
    token = r.headers["location"].split("/")[1]
    page = gate.client.get(f"/enrol/{token}")
    assert 'name="step" value="keep"' in page.text and "Keep my current PIN" in page.text
    r = post(gate, f"/enrol/{token}", page, step="keep")
    assert r.status_code == 303 and r.headers["location"] == token
    scan_page, key = scan(gate, token)
    done = post(gate, f"/enrol/{token}", scan_page, step="confirm", code=totp(key, gate.clock()))
    assert done.status_code == 200
    gate.clock.advance(30)
    gate.client.cookies.clear()
    login = gate.client.get("/login")
    r = post(gate, "/login", login, username="alice", pin=PIN, code=totp(key, gate.clock()))
    assert r.status_code == 303  # the old PIN, typed on /lost only


def test_a_new_user_has_no_pin_to_keep(gate: App) -> None:
    token = invite(gate)
    page = gate.client.get(f"/enrol/{token}")
    assert "Keep my current PIN" not in page.text
    r = post(gate, f"/enrol/{token}", page, step="keep")
    assert r.status_code == 303 and r.headers["location"] == token
    assert gate.store.get_invitation(digest(token)).status == "open"  # type: ignore[union-attr]


def test_the_account_page_shows_the_token_the_codes_left_and_the_enrolment(
    make_gate: AppFactory, tmp_path: Path
) -> None:
    g = make_gate()
    g.authenticator.audit = AuditLog(str(tmp_path / "audit.log"))
    service(g)._audit_log = g.authenticator.audit
    token = invite(g, "alice", reset=True)
    post(g, f"/enrol/{token}", g.client.get(f"/enrol/{token}"), step="keep")
    scan_page, key = scan(g, token)
    post(g, f"/enrol/{token}", scan_page, step="confirm", code=totp(key, g.clock()))
    codes = recovery.generate(4)
    g.store.set_recovery_codes("alice", [recovery.digest("alice", c) for c in codes])
    g.clock.advance(30)
    page = g.client.get("/login")
    r = post(g, "/login", page, username="alice", pin=PIN, code=totp(key, g.clock()))
    assert r.status_code == 303
    text = g.client.get("/account").text
    assert '<td data-label="Type">TOTP: a new code every 30 seconds</td>' in text
    assert "<dt>Enrolled</dt><dd>2027-01-15 08:00 UTC</dd>" in text
    assert "Recovery codes left: <strong>4</strong>." in text
    german = g.client.get("/account", headers={"Accept-Language": "de"}).text
    assert "TOTP: alle 30 Sekunden ein neuer Code" in german
    assert "Verbleibende Wiederherstellungscodes: <strong>4</strong>." in german


def test_without_an_audit_log_the_account_page_says_less(gate: App) -> None:
    signed_in(gate)
    text = gate.client.get("/account").text
    assert '<td data-label="Type">TOTP: a new code every 30 seconds</td>' in text
    assert "Enrolled" not in text and "Recovery codes left: <strong>0</strong>." in text


def test_sign_out_here_or_everywhere(gate: App) -> None:
    signed_in(gate)
    page = gate.client.get("/account")
    assert page.text.count('action="logout"') == 2 and 'name="scope" value="browser"' in page.text
    copy = gate.client.cookies["otpgate_session"]
    r = post(gate, "/logout", page, scope="browser")
    assert r.status_code == 200 and "You have signed out." in r.text
    assert gate.client.get("/auth").status_code == 401  # this browser: signed out
    other = {"Cookie": f"otpgate_session={copy}"}
    assert gate.client.get("/auth", headers=other).status_code == 200  # another: still in
    gate.clock.advance(30)
    signed_in(gate)
    page = gate.client.get("/account")
    post(gate, "/logout", page)  # "Sign out everywhere"
    gate.clock.advance(5)
    assert gate.client.get("/auth", headers=other).status_code == 401
