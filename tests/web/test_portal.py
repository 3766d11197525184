"""The login page, session cookies, logout, CSRF and open redirects."""

from __future__ import annotations

import pytest

from otpgate.store.records import UserState

from .conftest import PIN, SECRET, AppFactory, code, csrf_token
from .conftest import App as G


def test_login_page_is_a_neat_form_with_security_headers(gate: G) -> None:
    r = gate.client.get("/login?rd=/app/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    # no-referrer would make browsers send "Origin: null" with the login POST.
    assert r.headers["referrer-policy"] == "same-origin"
    for field in ('name="username"', 'name="pin"', 'name="code"', 'name="csrf"'):
        assert field in r.text
    assert '<label for="code">' in r.text and "<script" not in r.text
    assert 'name="rd" value="/app/"' in r.text
    cookie = r.headers["set-cookie"]
    assert "otpgate_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_login_sets_a_signed_session_cookie_and_returns(gate: G) -> None:
    r = gate.login(rd="/app/page?x=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/app/page?x=1"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("otpgate_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age=1800" in cookie  # the idle timeout, shorter than the 12 h maximum
    assert "Secure" not in cookie  # turned off for this plain-HTTP test


def test_session_cookie_is_secure_by_default(make_gate: AppFactory) -> None:
    g = make_gate(cookie_secure=True)
    page = g.client.get("/login")
    assert "Secure" in page.headers["set-cookie"]
    r = g.client.post(
        "/login",
        data={
            "username": "alice",
            "pin": PIN,
            "code": code(g.clock),
            "csrf": csrf_token(page.text),
        },
        headers={"Cookie": f"otpgate_csrf={page.cookies['otpgate_csrf']}"},
    )
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]


def test_without_a_return_url_login_goes_to_the_landing_url(make_gate: AppFactory) -> None:
    # The portal is a path on the protected site: the site's root is the application.
    gate = make_gate()
    r = gate.login()
    assert r.headers["location"] == "/"
    home = gate.client.get("/")
    assert "Signed in as <strong>alice</strong>" in home.text
    assert 'href="/">Continue to the application</a>' in home.text
    assert make_gate(landing_url="/app/").login().headers["location"] == "/app/"
    own_host = make_gate(portal_url="https://auth.example.test")
    assert own_host.login().headers["location"] == "https://auth.example.test/account"


def test_signing_out_lands_somewhere_useful(make_gate: AppFactory) -> None:
    gate = make_gate()
    gate.login()
    page = gate.client.get("/logout")
    r = gate.client.post("/logout", data={"csrf": csrf_token(page.text)})
    assert r.status_code == 200 and "You have signed out." in r.text
    assert 'href="login?rd=%2F">Sign in again</a>' in r.text
    other = make_gate(signed_out_url="https://www.example.test/bye")
    other.login()
    page = other.client.get("/logout")
    r = other.client.post("/logout", data={"csrf": csrf_token(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "https://www.example.test/bye"
    assert other.client.get("/auth").status_code == 401


@pytest.mark.parametrize(
    "rd",
    [
        "//evil.test/",
        "///evil.test/",
        "/\\evil.test",
        "\\\\evil.test",
        "https://evil.test/",
        "http://evil.test@testserver/",
        "javascript:alert(1)",
        "data:text/html,x",
        "/ok\r\nSet-Cookie: x=1",
        "/ok\nx",
        "https:evil.test",
        "evil.test",
        " /x",
        "/\tx",
    ],
)
def test_open_redirects_are_refused(gate: G, rd: str) -> None:
    page = gate.client.get("/login", params={"rd": rd})
    assert 'name="rd" value=""' in page.text
    r = gate.login(rd=rd)
    assert r.status_code == 303
    assert r.headers["location"] == "/"  # the landing URL, never the offered one


def test_return_to_the_own_host_and_allowed_hosts(make_gate: AppFactory) -> None:
    g = make_gate(allowed_hosts=[".example.com"])
    assert g.login(rd="http://testserver/x").headers["location"] == "http://testserver/x"
    g2 = make_gate(allowed_hosts=[".example.com"])
    assert g2.login(rd="https://app.example.com/y").headers["location"] == (
        "https://app.example.com/y"
    )
    g3 = make_gate(allowed_hosts=[".example.com"])
    assert g3.login(rd="https://example.com.evil.test/").headers["location"] == "/"


def _post(g: G, **fields: str) -> object:
    return g.client.post("/login", data=fields)


def test_wrong_credentials_do_not_say_which_factor(gate: G) -> None:
    page = gate.client.get("/login")
    token = csrf_token(page.text)
    right = code(gate.clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    bodies = []
    for user, pin, otp in [("alice", "9999", right), ("alice", PIN, wrong), ("bob", PIN, right)]:
        r = gate.client.post(
            "/login", data={"username": user, "pin": pin, "code": otp, "csrf": token}
        )
        assert r.status_code == 401
        assert "Wrong user name, PIN or code." in r.text
        bodies.append(r.text.replace(f'value="{user}"', 'value="USER"'))
    assert bodies[0] == bodies[1] == bodies[2]


def test_throttled_login_says_when_to_try_again(gate: G) -> None:
    token = csrf_token(gate.client.get("/login").text)
    for _ in range(10):
        r = gate.client.post(
            "/login", data={"username": "alice", "pin": "0", "code": "000000", "csrf": token}
        )
        if r.status_code != 401:
            break
    assert r.status_code == 429
    assert "Too many attempts. Try again in" in r.text
    assert int(r.headers["retry-after"]) >= 1


def test_csrf_token_is_required_and_bound_to_the_cookie(gate: G) -> None:
    page = gate.client.get("/login")
    token = csrf_token(page.text)
    fields = {"username": "alice", "pin": PIN, "code": code(gate.clock)}
    missing = gate.client.post("/login", data=fields)
    assert missing.status_code == 403
    forged = gate.client.post("/login", data={**fields, "csrf": token + "x"})
    assert forged.status_code == 403
    gate.client.cookies.set("otpgate_csrf", "attacker-nonce")
    replanted = gate.client.post("/login", data={**fields, "csrf": token})
    assert replanted.status_code == 403
    assert "otpgate_session" not in replanted.headers.get("set-cookie", "")


def test_cross_origin_post_is_refused_even_with_a_token(gate: G) -> None:
    page = gate.client.get("/login")
    fields = {
        "username": "alice",
        "pin": PIN,
        "code": code(gate.clock),
        "csrf": csrf_token(page.text),
    }
    r = gate.client.post("/login", data=fields, headers={"Origin": "https://evil.test"})
    assert r.status_code == 403
    r = gate.client.post("/login", data=fields, headers={"Origin": "null"})
    assert r.status_code == 403
    r = gate.client.post("/login", data=fields, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    ok = gate.client.post("/login", data=fields, headers={"Origin": "http://testserver"})
    assert ok.status_code == 303


def test_malformed_forms_are_4xx(gate: G) -> None:
    token = csrf_token(gate.client.get("/login").text)
    c = gate.client
    assert (
        c.post(
            "/login",
            content=b"x" * 9000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 413
    )
    assert c.post("/login", json={"username": "alice"}).status_code == 415
    assert (
        c.post(
            "/login",
            content=b"username=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 400
    )
    empty = c.post("/login", data={"username": "", "pin": "", "code": "", "csrf": token})
    assert empty.status_code == 400
    ctrl = c.post("/login", data={"username": "a\x00b", "pin": "1", "code": "1", "csrf": token})
    assert ctrl.status_code == 400
    long = c.post("/login", data={"username": "a" * 300, "pin": "1", "code": "1", "csrf": token})
    assert long.status_code == 400
    doubled = c.post(
        "/login",
        content=f"csrf={token}&username=a&username=b&pin=1&code=1".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert doubled.status_code == 400


def test_unicode_user_can_log_in(gate: G) -> None:
    from .conftest import UNICODE_PIN, UNICODE_USER

    assert gate.login(user=UNICODE_USER, pin=UNICODE_PIN).status_code == 303
    assert UNICODE_USER in gate.client.get("/").text


def test_tampered_cookie_is_refused(gate: G) -> None:
    gate.login()
    value = gate.client.cookies["otpgate_session"]
    gate.client.cookies.clear()
    for bad in (
        value[:-1] + ("A" if value[-1] != "A" else "B"),
        value.replace(".", "x", 1),
        "garbage",
        "",
        value + "." + value,
        "x" * 5000,
    ):
        r = gate.client.get("/auth", headers={"Cookie": f"otpgate_session={bad}"})
        assert r.status_code == 401, bad


def test_cookie_signed_with_another_secret_is_refused(make_gate: AppFactory) -> None:
    other = make_gate(session_secrets=["o" * 40])
    other.login()
    value = other.client.cookies["otpgate_session"]
    g = make_gate()
    assert g.client.get("/auth", headers={"Cookie": f"otpgate_session={value}"}).status_code == 401


def test_sessions_work_across_gate_processes_and_secret_rotation(make_gate: AppFactory) -> None:
    a = make_gate()
    a.login()
    value = a.client.cookies["otpgate_session"]
    # Another process (own Authenticator and caches) on the same store and secret.
    b = make_gate(store=a.store, clock=a.clock)
    assert b.client.get("/auth", headers={"Cookie": f"otpgate_session={value}"}).status_code == 200
    # After a rotation the old secret still verifies while it is listed.
    c = make_gate(store=a.store, clock=a.clock, session_secrets=[SECRET, "n" * 40])
    assert c.client.get("/auth", headers={"Cookie": f"otpgate_session={value}"}).status_code == 200


def test_expired_cookie_is_refused(make_gate: AppFactory) -> None:
    gate = make_gate(session_lifetime=600.0, session_idle=None)
    gate.login()
    gate.clock.advance(599)
    assert gate.client.get("/auth").status_code == 200
    gate.clock.advance(2)
    assert gate.client.get("/auth").status_code == 401


def test_cookie_of_a_locked_user_is_refused(gate: G) -> None:
    gate.login()
    assert gate.client.get("/auth").status_code == 200
    record = gate.store.get("alice")
    assert record is not None
    # Another process (the admin CLI) locks the user; the cached read expires.
    gate.store.replace(
        record.with_state(UserState(token=record.state.token, locked_until=float("inf")))
    )
    gate.clock.advance(5)
    assert gate.client.get("/auth").status_code == 401


def test_logout_revokes_the_session_server_side(gate: G) -> None:
    gate.login()
    value = gate.client.cookies["otpgate_session"]
    gate.clock.advance(1)
    page = gate.client.get("/logout")
    assert "Signed in as <strong>alice</strong>" in page.text
    r = gate.client.post("/logout", data={"csrf": csrf_token(page.text)})
    assert r.status_code == 200
    assert "You have signed out." in r.text
    assert 'otpgate_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    # A copy of the old cookie is dead too, here and in every other process.
    gate.clock.advance(1)
    assert (
        gate.client.get("/auth", headers={"Cookie": f"otpgate_session={value}"}).status_code == 401
    )
    # Logging in again works.
    gate.clock.advance(30)
    gate.client.cookies.clear()
    assert gate.login().status_code == 303
    assert gate.client.get("/auth").status_code == 200


def test_logout_needs_csrf(gate: G) -> None:
    gate.login()
    r = gate.client.post("/logout", data={"csrf": "nope"})
    assert r.status_code == 403
    assert gate.client.get("/auth").status_code == 200


def test_sliding_idle_timeout(make_gate: AppFactory) -> None:
    g = make_gate(session_idle=300.0)
    g.login()
    first = g.client.cookies["otpgate_session"]
    g.clock.advance(200)
    r = g.client.get("/auth")
    assert r.status_code == 200
    refreshed = r.cookies.get("otpgate_session")
    assert refreshed and refreshed != first
    g.clock.advance(200)
    assert g.client.get("/auth", headers={"Cookie": f"otpgate_session={first}"}).status_code == 401
    assert (
        g.client.get("/auth", headers={"Cookie": f"otpgate_session={refreshed}"}).status_code == 200
    )


def test_ip_change_ends_the_session_when_configured(make_gate: AppFactory) -> None:
    g = make_gate(auth={"logout_on_ip_change": True})
    g.login(**{"X-Forwarded-For": "192.0.2.10"})
    ok = g.client.get("/auth", headers={"X-Forwarded-For": "192.0.2.10"})
    assert ok.status_code == 200
    moved = g.client.get("/auth", headers={"X-Forwarded-For": "192.0.2.99"})
    assert moved.status_code == 401


def test_already_signed_in_browser_skips_the_form(gate: G) -> None:
    gate.login()
    r = gate.client.get("/login?rd=/app/")
    assert r.status_code == 303 and r.headers["location"] == "/app/"


def test_demo_page_needs_a_login(make_gate: AppFactory) -> None:
    g = make_gate(demo=True)
    r = g.client.get("/demo/")
    assert r.status_code == 302 and r.headers["location"] == "../login?rd=%2Fdemo%2F"
    g.login(rd="/demo/")
    page = g.client.get("/demo/")
    assert page.status_code == 200 and "Hello <strong>alice</strong>" in page.text


@pytest.mark.parametrize("path", ["/login/", "/lost/", "/account/", "/enrol/abc/"])
def test_no_redirect_built_from_the_requests_own_host(gate: G, path: str) -> None:
    # Starlette would answer 307 to http://<Host header><path without slash>.
    r = gate.client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
