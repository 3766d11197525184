"""The login page's return target (``rd``): any text is answered, never with a 500.

The attack (issue 9, item 6): ``/login?rd=/%C4%81`` answered 500 (a Location
header must be Latin-1), and a correct ``POST /login`` with such an ``rd``
used up the one-time code before failing.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from otpgate.web.request import safe_return_url

from .conftest import PIN, code, csrf_token
from .conftest import App as G


def post_login(gate: G, rd: str) -> object:
    page = gate.client.get("/login")
    form = {
        "username": "alice",
        "pin": PIN,
        "code": code(gate.clock),
        "csrf": csrf_token(page.text),
        "rd": rd,
    }
    return gate.client.post("/login", data=form)


def test_non_latin1_return_path_after_a_login(gate: G) -> None:
    r = post_login(gate, "/ā/ü?q=日本")
    assert r.status_code == 303  # type: ignore[attr-defined]
    # The browser's own form of the same URL: UTF-8, percent-encoded.
    location = r.headers["location"]  # type: ignore[attr-defined]
    assert location == "/%C4%81/%C3%BC?q=%E6%97%A5%E6%9C%AC"
    assert gate.client.get("/auth").status_code == 200  # the session cookie was set


def test_non_latin1_return_path_for_a_signed_in_browser(gate: G) -> None:
    assert gate.login().status_code == 303
    r = gate.client.get("/login?rd=/%C4%81")
    assert r.status_code == 303
    assert r.headers["location"] == "/%C4%81"


def test_percent_encoded_return_paths_stay_as_they_are(gate: G) -> None:
    assert gate.login().status_code == 303
    r = gate.client.get("/login?rd=/a%2520b%3Fc")
    assert r.status_code == 303 and r.headers["location"] == "/a%20b?c"


def test_the_code_is_used_once_and_the_answer_is_produced(gate: G) -> None:
    before = gate.store.get("alice")
    assert before is not None
    r = post_login(gate, "/ā")
    assert r.status_code == 303  # type: ignore[attr-defined]
    after = gate.store.get("alice")
    assert after is not None and after.state.last_otp == code(gate.clock)
    metrics = gate.metrics()
    assert metrics.decisions("login", "otp") == 1


@given(st.text(max_size=60))
def test_a_safe_return_url_is_always_ascii(url: str) -> None:
    safe = safe_return_url("/" + url, [])
    assert safe is None or safe.isascii()
    absolute = safe_return_url("https://app.test/" + url, ["app.test"])
    assert absolute is None or absolute.isascii()
