"""The self-service pages answer any input with a deliberate status, never a 500."""

from __future__ import annotations

import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otpgate.accounts.selfservice import SelfService
from otpgate.otp.tokens import parse_token_type

from .conftest import App, csrf_token

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FIELDS = ("username", "pin", "pin2", "code", "step", "action", "new_pin", "new_pin2", "csrf")
values = st.text(max_size=80) | st.sampled_from(["pin", "confirm", "codes", "", "123456"])
forms = st.dictionaries(st.sampled_from(FIELDS), values, max_size=9)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)


def service(g: App) -> SelfService:
    svc: SelfService = g.client.app.state.selfservice  # type: ignore[attr-defined]
    return svc


def _token(gate: App) -> str:
    svc = service(gate)
    return svc.invite(
        "dora", parse_token_type("HOTP/T30"), expires_in=3600, reset=False, now=gate.clock()
    )


@SETTINGS
@given(form=forms, lang=header_text, with_csrf=st.booleans())
def test_enrol_never_fails(gate: App, form: dict[str, str], lang: str, with_csrf: bool) -> None:
    token = _token_for(gate)
    page = gate.client.get(f"/enrol/{token}", headers={"Accept-Language": lang})
    assert page.status_code in (200, 404, 409, 410)
    if with_csrf and page.status_code == 200:
        form = {**form, "csrf": csrf_token(page.text)}
    r = gate.client.post(f"/enrol/{token}", data=form, headers={"Accept-Language": lang})
    assert r.status_code in (200, 303, 400, 403, 404, 409, 410, 415)


_TOKENS: dict[int, str] = {}


def _token_for(gate: App) -> str:
    key = id(gate)
    if key not in _TOKENS:
        _TOKENS[key] = _token(gate)
    return _TOKENS[key]


@SETTINGS
@given(path=st.text(max_size=60))
def test_any_enrol_path_never_fails(gate: App, path: str) -> None:
    r = gate.client.get("/enrol/" + urllib.parse.quote(path, safe=""))
    assert r.status_code in (404, 410)


@SETTINGS
@given(form=forms, with_csrf=st.booleans())
def test_lost_never_fails(gate: App, form: dict[str, str], with_csrf: bool) -> None:
    page = gate.client.get("/lost")
    if with_csrf:
        form = {**form, "csrf": csrf_token(page.text)}
    r = gate.client.post("/lost", data=form)
    assert r.status_code in (303, 400, 401, 403, 415, 429)


@SETTINGS
@given(form=forms, with_csrf=st.booleans(), body=st.binary(max_size=300))
def test_account_never_fails(gate: App, form: dict[str, str], with_csrf: bool, body: bytes) -> None:
    if "otpgate_session" not in gate.client.cookies:
        assert gate.login().status_code == 303
    page = gate.client.get("/account")
    assert page.status_code == 200
    if with_csrf:
        form = {**form, "csrf": csrf_token(page.text)}
    r = gate.client.post("/account", data=form)
    assert r.status_code in (200, 400, 401, 403, 415, 429)
    raw = gate.client.post(
        "/account", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert raw.status_code in (400, 403, 413, 415)
