"""Every form refuses a POST without the CSRF cookie, without the token, or with another's.

Issue 17, item 12: the check was mutated to skip when the CSRF cookie is
missing, and all tests passed (a login POST with neither cookie nor token
signed the user in): every web test's client held the cookie from an earlier
GET.  Issue 17, item 6: the token was not tied to the session, so a nonce
planted in a signed-in browser (a sibling subdomain can set cookies for the
parent domain) with the attacker's own matching token passed the check.

Each form below is posted with fields that succeed when the CSRF check
passes (the control at the end of each test), so a refusal can only come
from the check.  (A form without fields still sends one: a browser's POST
of an empty form has a body and its content type.)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from otpgate.login import recovery
from otpgate.otp.tokens import TokenType, parse_token_type
from otpgate.store.records import Pin, UserRecord

from .conftest import PIN, PROXY, App, AppFactory, code, csrf_token

CSRF = "otpgate_csrf"
SESSION = "otpgate_session"
BOB_KEY = b"b" * 20
NEW_PIN = "735191"


@dataclass(frozen=True)
class Form:
    """A form: the page that shows it, where it posts, fields that succeed, the success."""

    page: str
    post: str
    fields: Callable[[App], dict[str, str]]
    ok: int
    signed_in: bool


def _fresh(g: App) -> dict[str, str]:
    """alice's PIN and a code not used yet (each attempt moves on one time step)."""
    g.clock.advance(30)
    return {"pin": PIN, "code": code(g.clock)}


def _invite(g: App, reset: bool = False) -> str:
    svc = g.client.app.state.selfservice  # type: ignore[attr-defined]
    token: str = svc.invite(
        "dora", parse_token_type("HOTP/T30"), expires_in=3600, reset=reset, now=g.clock()
    )
    return token


def _recovery(g: App) -> dict[str, str]:
    codes = recovery.generate(1)
    g.store.set_recovery_codes("alice", [recovery.digest("alice", codes[0])])
    return {"username": "alice", "pin": PIN, "code": codes[0]}


FORMS: dict[str, Form] = {
    "login": Form("/login", "/login", lambda g: {"username": "alice", **_fresh(g)}, 303, False),
    "logout": Form("/logout", "/logout", lambda g: {"go": "1"}, 200, True),
    "account-codes": Form(
        "/account", "/account", lambda g: {"action": "codes", **_fresh(g)}, 200, True
    ),
    "account-pin": Form(
        "/account",
        "/account",
        lambda g: {"action": "pin", "new_pin": NEW_PIN, "new_pin2": NEW_PIN, **_fresh(g)},
        200,
        True,
    ),
    "enrol": Form(
        "/enrol/{token}",
        "/enrol/{token}",
        lambda g: {"step": "pin", "pin": NEW_PIN, "pin2": NEW_PIN},
        303,
        False,
    ),
    "lost": Form("/lost", "/lost", _recovery, 303, False),
    "admin-invite": Form(
        "/admin/invite", "/admin/invite", lambda g: {"username": "erin", **_fresh(g)}, 200, True
    ),
    "admin-lock": Form(
        "/admin/users/bob", "/admin/users/bob/lock", lambda g: {"go": "1"}, 303, True
    ),
    "admin-remove": Form(
        "/admin/users/bob/remove", "/admin/users/bob/remove", lambda g: _fresh(g), 303, True
    ),
}


def world(make_gate: AppFactory, form: Form) -> tuple[App, str, str]:
    """A gate with alice (an administrator) and bob; (gate, page, post) for ``form``."""
    g = make_gate()
    g.store.set_role("alice", "admin")
    g.store.add(UserRecord("bob", TokenType("HOTP", 30, 6), BOB_KEY, Pin("plain", PIN)))
    if form.signed_in:
        assert g.login().status_code == 303
    token = _invite(g) if "{token}" in form.page else ""
    return g, form.page.format(token=token), form.post.format(token=token)


def other_client(g: App) -> TestClient:
    return TestClient(g.client.app, client=PROXY, follow_redirects=False)


def refused(response: Any) -> bool:
    """403, and no new session: the refused sign-in signed nobody in."""
    new_session = (
        any(c.startswith(SESSION + "=") for c in response.headers.get_list("set-cookie"))
        and response.request.url.path == "/login"
    )
    return response.status_code == 403 and not new_session


def control(g: App, form: Form, page: str, post: str) -> None:
    """The same form with its own cookie and token: it succeeds, so the fields are right."""
    token = csrf_token(g.client.get(page).text)
    r = g.client.post(post, data={"csrf": token, **form.fields(g)})
    assert r.status_code == form.ok, r.text


@pytest.mark.parametrize("name", FORMS)
def test_a_post_without_the_csrf_cookie_is_refused(make_gate: AppFactory, name: str) -> None:
    form = FORMS[name]
    g, page, post = world(make_gate, form)
    token = csrf_token(g.client.get(page).text)
    g.client.cookies.delete(CSRF)
    for data in ({"csrf": token, **form.fields(g)}, form.fields(g)):
        assert refused(g.client.post(post, data=data)), data
    control(g, form, page, post)


@pytest.mark.parametrize("name", FORMS)
def test_a_post_with_the_cookie_but_no_token_is_refused(make_gate: AppFactory, name: str) -> None:
    form = FORMS[name]
    g, page, post = world(make_gate, form)
    g.client.get(page)
    assert CSRF in g.client.cookies
    for token in (None, "", "forged", "x" * 300):
        data = form.fields(g) if token is None else {"csrf": token, **form.fields(g)}
        assert refused(g.client.post(post, data=data)), token
    control(g, form, page, post)


@pytest.mark.parametrize("name", FORMS)
def test_a_token_from_another_browser_is_refused(make_gate: AppFactory, name: str) -> None:
    form = FORMS[name]
    g, page, post = world(make_gate, form)
    g.client.get(page)
    with other_client(g) as other:
        theirs = csrf_token(other.get("/login").text)
    r = g.client.post(post, data={"csrf": theirs, **form.fields(g)})
    assert refused(r)
    control(g, form, page, post)


@pytest.mark.parametrize("name", [n for n, f in FORMS.items() if f.signed_in])
@pytest.mark.parametrize("attacker", ["anonymous", "bob"])
def test_a_planted_nonce_with_its_token_from_another_session_is_refused(
    make_gate: AppFactory, name: str, attacker: str
) -> None:
    """Issue 17, item 6: the attacker's own nonce and token, planted in alice's browser."""
    form = FORMS[name]
    g, page, post = world(make_gate, form)
    with other_client(g) as other:
        form_page = "/login"
        if attacker == "bob":
            login = other.post(
                "/login",
                data={
                    "username": "bob",
                    "pin": PIN,
                    "code": code(g.clock, BOB_KEY),
                    "csrf": csrf_token(other.get("/login").text),
                },
            )
            assert login.status_code == 303
            form_page = "/account"
        token = csrf_token(other.get(form_page).text)
        nonce = other.cookies[CSRF]
    # alice's session with the attacker's nonce in place of hers.
    jar = f"{SESSION}={g.client.cookies[SESSION]}; {CSRF}={nonce}"
    r = g.client.post(post, data={"csrf": token, **form.fields(g)}, headers={"Cookie": jar})
    assert refused(r)
    control(g, form, page, post)


def test_a_token_survives_the_session_sliding(make_gate: AppFactory) -> None:
    # The token is tied to the session, not to the cookie's last refresh.
    g = make_gate()
    assert g.login().status_code == 303
    token = csrf_token(g.client.get("/account").text)
    g.clock.advance(600)
    assert g.client.get("/account").status_code == 200  # the cookie is re-issued here
    r = g.client.post("/account", data={"csrf": token, "action": "codes", **_fresh(g)})
    assert r.status_code == 200, r.text


def test_after_a_pin_change_the_forms_belong_to_the_new_session(make_gate: AppFactory) -> None:
    g = make_gate()
    assert g.login().status_code == 303
    before = csrf_token(g.client.get("/account").text)
    fields = {"action": "pin", "new_pin": NEW_PIN, "new_pin2": NEW_PIN, **_fresh(g)}
    changed = g.client.post("/account", data={"csrf": before, **fields})
    assert changed.status_code == 200 and SESSION in changed.cookies
    after = csrf_token(changed.text)
    codes = {"action": "codes", "pin": NEW_PIN}
    # A page from before the change (another tab) was for the session that ended ...
    r = g.client.post("/account", data={"csrf": before, **codes, "code": _fresh(g)["code"]})
    assert r.status_code == 403
    # ... the page the change answered with is for the new one.
    r = g.client.post("/account", data={"csrf": after, **codes, "code": _fresh(g)["code"]})
    assert r.status_code == 200, r.text
