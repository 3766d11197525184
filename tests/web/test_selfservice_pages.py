"""The self-service pages over HTTP: enrolment, lost token, account; CSRF and replays."""

from __future__ import annotations

import re
from typing import Any

import pytest

from otpgate.accounts.selfservice import SelfService
from otpgate.login import recovery
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.store.invitations import digest

from .conftest import KEY, PIN, App, AppFactory, code, csrf_token

NEW_PIN = "735191"
TOTP = parse_token_type("HOTP/T30")


def service(g: App) -> SelfService:
    svc: SelfService = g.client.app.state.selfservice  # type: ignore[attr-defined]
    return svc


def invite(g: App, user: str = "dora", *, reset: bool = False, expires: float = 3600) -> str:
    svc = service(g)
    return svc.invite(user, TOTP, expires_in=expires, reset=reset, now=g.clock())


def post(g: App, url: str, page: Any, **fields: str) -> Any:
    return g.client.post(url, data={"csrf": csrf_token(page.text), **fields})


def choose_pin(g: App, token: str, pin: str = NEW_PIN, again: str | None = None) -> Any:
    page = g.client.get(f"/enrol/{token}")
    assert page.status_code == 200, page.text
    return post(
        g, f"/enrol/{token}", page, step="pin", pin=pin, pin2=pin if again is None else again
    )


def scan(g: App, token: str) -> tuple[Any, bytes]:
    page = g.client.get(f"/enrol/{token}")
    assert page.status_code == 200
    uri = re.search(r'<p class="secret" id="uri"><a href="([^"]+)">', page.text)
    assert uri is not None
    inv = g.store.get_invitation(digest(token))
    assert inv is not None and inv.pending_key is not None
    # The page shows the key the store keeps (the URI's secret).
    from otpgate.otp.tokens import parse_uri

    assert parse_uri(uri.group(1).replace("&amp;", "&")).key == inv.pending_key
    return page, inv.pending_key


def enrol(g: App, user: str = "dora", **kw: Any) -> tuple[str, bytes, list[str]]:
    token = invite(g, user, **kw)
    r = choose_pin(g, token)
    assert r.status_code == 303 and r.headers["location"] == token
    page, key = scan(g, token)
    done = post(g, f"/enrol/{token}", page, step="confirm", code=totp(key, g.clock()))
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</li>", done.text)
    assert len(codes) == 10
    return token, key, codes


def test_the_enrolment_journey(gate: App) -> None:
    token = invite(gate)
    page = gate.client.get(f"/enrol/{token}")
    assert 'name="pin"' in page.text and 'name="pin2"' in page.text
    assert 'autocomplete="new-password"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    r = choose_pin(gate, token)
    assert r.status_code == 303
    scan_page, key = scan(gate, token)
    assert (
        '<svg role="img"' in scan_page.text
        and "<title>QR code of the new token</title>" in scan_page.text
    )
    assert 'inputmode="numeric"' in scan_page.text and "<script" not in scan_page.text
    done = post(gate, f"/enrol/{token}", scan_page, step="confirm", code=totp(key, gate.clock()))
    assert "Your token is active" in done.text and "shown only this once" in done.text
    # Signing in with the new PIN and the next code works.
    gate.clock.advance(30)
    login = gate.client.get("/login")
    r = post(gate, "/login", login, username="dora", pin=NEW_PIN, code=totp(key, gate.clock()))
    assert r.status_code == 303
    assert gate.client.get("/auth").headers["remote-user"] == "dora"


def test_a_used_link_is_refused_and_a_replayed_confirmation_changes_nothing(gate: App) -> None:
    token, key, _ = enrol(gate)
    page = gate.client.get(f"/enrol/{token}")
    assert page.status_code == 410 and "already been used" in page.text
    # Replaying the confirmation (same form, same code) or the PIN step.
    login = gate.client.get("/login")
    for fields in (
        {"step": "confirm", "code": totp(key, gate.clock())},
        {"step": "pin", "pin": "x9x9x9x9", "pin2": "x9x9x9x9"},
    ):
        r = post(gate, f"/enrol/{token}", login, **fields)
        assert r.status_code == 410
    record = gate.store.get("dora")
    assert record is not None and record.key == key


def test_expired_revoked_and_unknown_links(gate: App) -> None:
    token = invite(gate, expires=600)
    gate.clock.advance(600)
    r = gate.client.get(f"/enrol/{token}")
    assert r.status_code == 410 and "expired" in r.text
    token2 = invite(gate, "fred")
    choose_pin(gate, token2)
    page, key = scan(gate, token2)
    assert service(gate).revoke("fred", gate.clock()) == 1
    r = post(gate, f"/enrol/{token2}", page, step="confirm", code=totp(key, gate.clock()))
    assert r.status_code == 410 and "withdrawn" in r.text
    assert gate.store.get("fred") is None
    for bad in ("x", "A" * 43, token[:-2] + "zz", "%00", "..%2f..%2fetc"):
        assert gate.client.get(f"/enrol/{bad}").status_code == 404


def test_a_wrong_code_does_not_activate(gate: App) -> None:
    token = invite(gate)
    choose_pin(gate, token)
    page, key = scan(gate, token)
    for wrong in ("000000", totp(key, gate.clock() + 600), "abc", "1" * 60):
        r = post(gate, f"/enrol/{token}", page, step="confirm", code=wrong)
        assert r.status_code == 400
        assert 'aria-invalid="true"' in r.text and "does not match the new token" in r.text
        assert 'aria-describedby="code-help code-error"' in r.text
    assert gate.store.get("dora") is None


@pytest.mark.parametrize(
    ("pin", "again", "needle", "field"),
    [
        ("123456", "123456", "a run such as 123456", "pin"),
        ("000000", "000000", "one character repeated", "pin"),
        ("ab1", "ab1", "too short: use at least 6 characters", "pin"),
        ("dora-secret", "dora-secret", "must not contain your user name", "pin"),
        (NEW_PIN, "735192", "The two PINs differ.", "pin2"),
    ],
)
def test_pin_policy_messages(gate: App, pin: str, again: str, needle: str, field: str) -> None:
    token = invite(gate)
    r = choose_pin(gate, token, pin, again)
    assert r.status_code == 400 and needle in r.text
    assert f'id="{field}-error" class="field-error"' in r.text
    assert re.search(rf'<input id="{field}"[^>]*aria-invalid="true"', r.text)
    assert gate.store.get_invitation(digest(token)).status == "open"  # type: ignore[union-attr]


def test_pages_speak_german_when_asked(make_gate: AppFactory) -> None:
    g = make_gate()
    token = invite(g)
    page = g.client.get(f"/enrol/{token}", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in page.text and "Anmeldung einrichten" in page.text
    login = g.client.get("/login", headers={"Accept-Language": "de"})
    assert "Benutzername" in login.text and "Wiederherstellungscodes" in login.text
    fixed = make_gate(language="de")
    assert "Anmelden" in fixed.client.get("/login", headers={"Accept-Language": "en"}).text
    r = post(g, "/login", login, username="alice", pin="nope", code="000000")
    assert r.status_code == 401 and "Wrong user name, PIN or code." in r.text
    r = g.client.post(
        "/login",
        data={"csrf": csrf_token(login.text), "username": "alice", "pin": "x", "code": "000000"},
        headers={"Accept-Language": "de"},
    )
    assert "Benutzername, PIN oder Code falsch." in r.text


def test_login_page_code_field_takes_recovery_codes(gate: App) -> None:
    page = gate.client.get("/login")
    field = re.search(r'<input id="code"[^>]*>', page.text)
    assert field is not None
    assert 'inputmode="text"' in field.group(0) and 'autocomplete="one-time-code"' in field.group(0)
    assert "recovery codes" in page.text and 'href="lost"' in page.text
    r = post(gate, "/login", page, username="alice", pin="wrong", code=code(gate.clock))
    for name in ("username", "pin", "code"):
        tag = re.search(rf'<input id="{name}"[^>]*>', r.text)
        assert tag is not None and 'aria-invalid="true"' in tag.group(0)
        assert "message" in tag.group(0)  # described by the error message


def signed_in(g: App) -> None:
    assert g.login().status_code == 303
    g.clock.advance(30)  # the login's code is used; the forms need the next one


def account_post(g: App, **fields: str) -> Any:
    page = g.client.get("/account")
    assert page.status_code == 200
    return post(g, "/account", page, **fields)


def test_account_needs_a_session(gate: App) -> None:
    r = gate.client.get("/account")
    assert r.status_code == 303 and r.headers["location"] == "login?rd=%2Fotpgate%2Faccount"


def test_change_pin_needs_the_current_pin_and_a_fresh_code(gate: App) -> None:
    signed_in(gate)
    r = account_post(
        gate, action="pin", pin="9999", code=code(gate.clock), new_pin=NEW_PIN, new_pin2=NEW_PIN
    )
    assert r.status_code == 401 and "Wrong PIN or code" in r.text
    assert re.search(r'<input id="cp-pin"[^>]*aria-invalid="true"', r.text)
    # The policy is checked before a code is spent.
    gate.clock.advance(30)
    r = account_post(
        gate, action="pin", pin=PIN, code=code(gate.clock), new_pin="111111", new_pin2="111111"
    )
    assert r.status_code == 400 and "one character repeated" in r.text
    r = account_post(
        gate, action="pin", pin=PIN, code=code(gate.clock), new_pin=NEW_PIN, new_pin2=NEW_PIN
    )
    assert r.status_code == 200 and "Your PIN has been changed." in r.text
    # Replaying the same form: the code is used up.
    r2 = account_post(
        gate,
        action="pin",
        pin=NEW_PIN,
        code=code(gate.clock),
        new_pin="another-9",
        new_pin2="another-9",
    )
    assert r2.status_code == 401
    # This browser stays signed in; the PIN works.
    assert gate.client.get("/auth").status_code == 200
    gate.clock.advance(30)
    gate.client.cookies.clear()
    page = gate.client.get("/login")
    assert (
        post(gate, "/login", page, username="alice", pin=NEW_PIN, code=code(gate.clock)).status_code
        == 303
    )


def test_a_pin_change_ends_other_sessions(make_gate: AppFactory) -> None:
    g = make_gate()
    signed_in(g)
    other = g.client.cookies["otpgate_session"]
    r = account_post(
        g, action="pin", pin=PIN, code=code(g.clock), new_pin=NEW_PIN, new_pin2=NEW_PIN
    )
    assert r.status_code == 200
    g.clock.advance(5)
    assert g.client.get("/auth", headers={"Cookie": f"otpgate_session={other}"}).status_code == 401
    assert g.client.get("/auth").status_code == 200


def test_renew_recovery_codes(gate: App) -> None:
    signed_in(gate)
    r = account_post(gate, action="codes", pin=PIN, code=code(gate.clock))
    assert r.status_code == 200
    codes = re.findall(r"<li>([A-Z2-7-]{19})</li>", r.text)
    assert len(codes) == 10
    assert gate.store.consume_recovery_code("alice", recovery.digest("alice", codes[0]))
    r = account_post(gate, action="codes", pin=PIN, code=code(gate.clock))
    assert r.status_code == 401  # the same code again: refused


def test_recent_sign_ins_from_the_audit_log(make_gate: AppFactory, tmp_path: Any) -> None:
    from otpgate.audit.writer import AuditLog

    g = make_gate()
    g.authenticator.audit = AuditLog(str(tmp_path / "audit.log"))
    service(g)._audit_log = g.authenticator.audit
    signed_in(g)
    page = g.client.get("/account")
    assert "Recent sign-ins" in page.text and ">one-time code</td>" in page.text
    lines = (tmp_path / "audit.log").read_text()
    assert '"reason":"session_created"' in lines and KEY.hex() not in lines and PIN not in lines


def test_lost_token_journey(gate: App) -> None:
    codes = recovery.generate(3)
    gate.store.set_recovery_codes("alice", [recovery.digest("alice", c) for c in codes])
    page = gate.client.get("/lost")
    # An OTP makes no reset here: the token is not lost (the page says where to sign in).
    r = post(gate, "/lost", page, username="alice", pin=PIN, code=code(gate.clock))
    assert r.status_code == 200 and "Your token still works" in r.text
    assert gate.store.list_invitations() == []
    r = post(gate, "/lost", page, username="alice", pin="wrong", code=codes[0])
    assert r.status_code == 401 and "Wrong user name, PIN or recovery code." in r.text
    # codes[0] is used up now (tried with a wrong PIN): the next one.
    r = post(gate, "/lost", page, username="alice", pin=PIN, code=codes[1].lower())
    assert r.status_code == 303 and r.headers["location"].startswith("enrol/")
    token = r.headers["location"].split("/")[1]
    old = gate.store.get("alice")
    assert old is not None and old.key == KEY  # the old token still works until confirmed
    choose_pin(gate, token)
    scan_page, key = scan(gate, token)
    assert "Your old token keeps working" not in scan_page.text  # said on the PIN step
    done = post(gate, f"/enrol/{token}", scan_page, step="confirm", code=totp(key, gate.clock()))
    assert done.status_code == 200
    new = gate.store.get("alice")
    assert new is not None and new.key == key
    # Replaying the lost-token form: the recovery code is spent.
    r = post(gate, "/lost", page, username="alice", pin=PIN, code=codes[1])
    assert r.status_code == 401


@pytest.mark.parametrize("url", ["/lost", "/account", "/enrol/{token}"])
def test_every_new_form_refuses_cross_site_and_missing_tokens(gate: App, url: str) -> None:
    signed_in(gate)
    token = invite(gate)
    url = url.format(token=token)
    page = gate.client.get(url)
    good = csrf_token(page.text)
    fields = {
        "username": "alice",
        "pin": PIN,
        "code": code(gate.clock),
        "action": "codes",
        "step": "pin",
        "pin2": PIN,
    }
    for data, headers in [
        ({**fields}, {}),
        ({**fields, "csrf": "forged"}, {}),
        ({**fields, "csrf": good}, {"Origin": "https://evil.test"}),
        ({**fields, "csrf": good}, {"Sec-Fetch-Site": "cross-site"}),
        ({**fields, "csrf": good}, {"Origin": "null"}),
    ]:
        r = gate.client.post(url, data=data, headers=headers)
        assert r.status_code == 403, (data, headers)
    assert gate.store.get_invitation(digest(token)).status == "open"  # type: ignore[union-attr]


def test_lost_token_of_a_mobile_otp_user_sends_to_the_administrator(gate: App) -> None:
    from otpgate.store.records import Pin, UserRecord

    gate.store.add(
        UserRecord("mo", parse_token_type("MOTP/T10/6"), b"0123456789abcdef", Pin("none"))
    )
    codes = recovery.generate(1)
    gate.store.set_recovery_codes("mo", [recovery.digest("mo", codes[0])])
    page = gate.client.get("/lost")
    r = post(gate, "/lost", page, username="mo", pin="", code=codes[0])
    assert r.status_code == 409 and "Ask your administrator" in r.text


def test_sending_the_pin_step_again_keeps_the_scanned_secret(gate: App) -> None:
    token = invite(gate)
    page = gate.client.get(f"/enrol/{token}")
    first = post(gate, f"/enrol/{token}", page, step="pin", pin=NEW_PIN, pin2=NEW_PIN)
    assert first.status_code == 303
    _, key = scan(gate, token)
    # The browser's back button and the same form once more (a replay), then another PIN.
    again = post(gate, f"/enrol/{token}", page, step="pin", pin=NEW_PIN, pin2=NEW_PIN)
    assert again.status_code == 303
    post(gate, f"/enrol/{token}", page, step="pin", pin="other-pin-4", pin2="other-pin-4")
    scan_page, key_after = scan(gate, token)
    assert key_after == key
    done = post(gate, f"/enrol/{token}", scan_page, step="confirm", code=totp(key, gate.clock()))
    assert done.status_code == 200
    auth = gate.authenticator
    gate.clock.advance(30)
    assert auth.login(auth.attempt("dora", "other-pin-4" + totp(key, gate.clock()), "192.0.2.1")).ok


def test_a_title_with_a_colon_still_makes_a_uri(make_gate: AppFactory) -> None:
    g = make_gate(title="Help desk: EMEA")
    token = invite(g)
    choose_pin(g, token)
    page, _ = scan(g, token)
    assert "issuer=Help%20desk%20EMEA" in page.text
