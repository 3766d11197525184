"""The admin pages over HTTP: who may see them, what each action changes and records."""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from otpgate.audit.writer import AuditLog
from otpgate.login import recovery
from otpgate.login.authenticator import Authenticator
from otpgate.otp.tokens import TokenType
from otpgate.store import invitations
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.web import create_app

from .conftest import KEY, PIN, PROXY, Clock, code, csrf_token, make_config

ROOT_KEY = b"r" * 20


class Admin:
    """An app with an administrator ``root``, users ``alice`` and ``carol`` (locked)."""

    def __init__(self, tmp: Path, **web: Any) -> None:
        self.clock = Clock()
        self.store = MemoryStore()
        totp = TokenType("HOTP", 30, 6)
        self.store.add(UserRecord("root", totp, ROOT_KEY, Pin("plain", "4321")))
        self.store.set_role("root", "admin")
        self.store.add(UserRecord("alice", totp, KEY, Pin("plain", PIN)))
        self.store.add(
            UserRecord(
                "carol",
                totp,
                KEY,
                Pin("plain", PIN),
                UserState(failures=7, locked_until=math.inf),
            )
        )
        self.audit_path = tmp / "audit.log"
        self.audit = AuditLog(str(self.audit_path))
        config = make_config(**web)
        auth = Authenticator(self.store, config.auth_settings(), audit=self.audit, clock=self.clock)
        self.app = create_app(config, auth)
        self.client = TestClient(self.app, client=PROXY, follow_redirects=False)

    def sign_in(self, user: str = "root") -> None:
        page = self.client.get("/login")
        key, pin = (ROOT_KEY, "4321") if user == "root" else (KEY, PIN)
        r = self.client.post(
            "/login",
            data={
                "username": user,
                "pin": pin,
                "code": code(self.clock, key),
                "csrf": csrf_token(page.text),
            },
        )
        assert r.status_code == 303, r.text

    def fresh(self) -> dict[str, str]:
        """The step-up fields with the next code (the sign-in's one is used)."""
        self.clock.advance(30)
        return {"pin": "4321", "code": code(self.clock, ROOT_KEY)}

    def post(self, path: str, **data: str) -> Any:
        simple = path.endswith(("/lock", "/unlock", "/revoke"))
        page = self.client.get(path.rsplit("/", 1)[0] if simple else path)
        return self.client.post(path, data={"csrf": csrf_token(page.text), **data})

    def admin_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in self.audit_path.read_text().splitlines()]
        return [x for x in lines if x.get("kind") == "admin"]


@pytest.fixture
def adm(tmp_path: Path) -> Iterator[Admin]:
    a = Admin(tmp_path)
    yield a
    a.client.close()


def admin_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path == "/admin" or path.startswith("/admin/"):
            for method in sorted(route.methods or []):
                if method != "HEAD":
                    out.append((method, path.replace("{name}", "alice")))
    return out


def test_every_admin_route_is_closed_to_anonymous_users_and_non_administrators(adm: Admin) -> None:
    routes = admin_routes(adm.app)
    # Enumerated from the app: a new route cannot be forgotten, and these are there.
    assert ("POST", "/admin/users/alice/remove") in routes and ("GET", "/admin/status") in routes
    assert len(routes) >= 20
    before = adm.store.get("alice")
    for method, path in routes:
        r = adm.client.request(method, path, data={"csrf": "x"})
        where = r.headers.get("location", "")
        assert r.status_code == 303, (method, path)
        assert where.startswith("/otpgate/login?rd=%2Fotpgate%2Fadmin"), (method, path)
    assert adm.store.get("alice") == before
    adm.sign_in("alice")
    before = adm.store.get("alice")
    page = adm.client.get("/login")
    token = csrf_token(page.text)
    for method, path in routes:
        r = adm.client.request(method, path, data={"csrf": token, "role": "admin", **adm.fresh()})
        assert r.status_code == 403, (method, path)
        assert "for administrators" in r.text
    assert adm.store.get_role("alice") == "user"
    assert adm.store.get("alice") == before
    assert adm.admin_lines() == []


def test_a_cross_site_post_is_refused_even_for_an_administrator(adm: Admin) -> None:
    adm.sign_in()
    page = adm.client.get("/admin/invite")
    token = csrf_token(page.text)
    posts = [p for m, p in admin_routes(adm.app) if m == "POST"]
    assert len(posts) >= 9
    for path in posts:
        for headers in ({"Origin": "https://evil.test"}, {"Sec-Fetch-Site": "cross-site"}):
            r = adm.client.post(path, data={"csrf": token, **adm.fresh()}, headers=headers)
            assert r.status_code == 403, path
        # A missing or wrong CSRF token is refused as well.
        r = adm.client.post(path, data={"csrf": "forged", **adm.fresh()})
        assert r.status_code == 403, path
    assert adm.store.get("alice") is not None and adm.store.get_role("alice") == "user"
    assert adm.admin_lines() == []


def test_taking_the_role_away_closes_the_pages_at_once(adm: Admin) -> None:
    adm.sign_in()
    assert adm.client.get("/admin").status_code == 200
    adm.store.set_role("root", "user")
    assert adm.client.get("/admin").status_code == 403


def test_the_list_searches_filters_and_pages(adm: Admin) -> None:
    for i in range(120):
        adm.store.add(UserRecord(f"user{i:03d}", TokenType("HOTP", 0, 6), KEY, Pin("none")))
    adm.sign_in()
    r = adm.client.get("/admin")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in r.text
    names = re.findall(r'href="\./admin/users/([^"]+)"', r.text)
    assert names == sorted(names) and len(names) == 50 and names[0] == "alice"
    nxt = re.search(r'href="(\?[^"]*after=[^"]+)" rel="next"', r.text)
    assert nxt is not None
    page2 = adm.client.get("/admin" + nxt.group(1).replace("&amp;", "&"))
    names2 = re.findall(r'href="\./admin/users/([^"]+)"', page2.text)
    assert names2[0] > names[-1] and len(names2) == 50
    r = adm.client.get("/admin", params={"q": "user11"})
    assert re.findall(r'href="\./admin/users/([^"]+)"', r.text) == [f"user11{i}" for i in range(10)]
    r = adm.client.get("/admin", params={"state": "locked"})
    assert re.findall(r'href="\./admin/users/([^"]+)"', r.text) == ["carol"]
    r = adm.client.get("/admin", params={"kind": "hotp", "q": "user00"})
    assert len(re.findall(r'href="\./admin/users/([^"]+)"', r.text)) == 10
    r = adm.client.get("/admin", params={"state": "never", "q": "r"})
    assert re.findall(r'href="\./admin/users/([^"]+)"', r.text) == []  # root signed in
    for bad in ({"state": "evil"}, {"kind": "sms"}, {"q": "a\x00"}, {"after": "x" * 300}):
        assert adm.client.get("/admin", params=bad).status_code == 400


def test_unlock_lock_and_the_user_page(adm: Admin) -> None:
    adm.sign_in()
    page = adm.client.get("/admin/users/carol")
    assert page.status_code == 200 and "locked" in page.text and "/carol/unlock" in page.text
    r = adm.post("/admin/users/carol/unlock")
    # Relative, so that it works wherever a proxy puts the gate (/otpgate/ in the examples).
    assert r.status_code == 303
    assert r.headers["location"] == "../../../admin/users/carol?done=unlocked"
    carol = adm.store.get("carol")
    assert carol is not None and carol.state.locked_until is None and carol.state.failures == 0
    r = adm.post("/admin/users/alice/lock")
    alice = adm.store.get("alice")
    assert alice is not None and alice.state.locked_until == math.inf
    page = adm.client.get("/admin/users/alice?done=locked")
    assert "Their sessions have ended" in page.text
    # The user page shows the user's own audit lines (the lock), in words.
    assert ">User locked<" in page.text and "sessions ended" in page.text
    got = [(x["action"], x["user"], x["actor"], x["ip"]) for x in adm.admin_lines()]
    assert got == [("unlock", "carol", "root", PROXY[0]), ("lock", "alice", "root", PROXY[0])]
    assert adm.client.get("/admin/users/nobody").status_code == 404


def test_destructive_actions_need_a_fresh_code(adm: Admin) -> None:
    adm.sign_in()
    # The code that signed in (still lingering) is not fresh; nor is a wrong one.
    used = {"pin": "4321", "code": code(adm.clock, ROOT_KEY)}
    for data in (used, {"pin": "4321", "code": "000000"}, {"pin": "0000", "code": "1"}, {}):
        r = adm.post("/admin/users/alice/remove", **data)
        assert r.status_code == 403 and adm.store.get("alice") is not None
    r = adm.post("/admin/users/alice/remove", **adm.fresh())
    assert r.status_code == 303 and adm.store.get("alice") is None
    assert [x["action"] for x in adm.admin_lines()] == ["remove"]


def test_recovery_codes_are_shown_once_and_never_logged(adm: Admin) -> None:
    adm.sign_in()
    r = adm.post("/admin/users/alice/recovery-codes", **adm.fresh())
    assert r.status_code == 200
    codes = re.findall(r"<li>([A-Z0-9-]{19})</li>", r.text)
    assert len(codes) == 10
    assert adm.store.consume_recovery_code("alice", recovery.digest("alice", codes[0]))
    log = adm.audit_path.read_text()
    assert not any(c in log or c.replace("-", "") in log for c in codes)


def test_role_change_and_no_self_demotion(adm: Admin) -> None:
    adm.sign_in()
    r = adm.post("/admin/users/alice/role", role="admin", **adm.fresh())
    assert r.status_code == 303 and adm.store.get_role("alice") == "admin"
    r = adm.post("/admin/users/root/role", role="user", **adm.fresh())
    assert r.status_code == 403 and adm.store.get_role("root") == "admin"
    r = adm.post("/admin/users/root/remove", **adm.fresh())
    assert r.status_code == 403 and adm.store.get("root") is not None
    assert [(x["action"], x["detail"]) for x in adm.admin_lines()] == [
        ("set_role", "user -> admin")
    ]


def test_invite_and_reset_make_single_use_links(adm: Admin) -> None:
    adm.sign_in()
    form = adm.client.get("/admin/invite").text
    # Human words, and the terminal's default (issue 18, item 12).
    assert '<option value="totp">TOTP: a new code every 30 seconds</option>' in form
    assert '<option value="24h" selected>24 hours</option>' in form
    r = adm.post("/admin/invite", username="dave", type="totp", expires="24h", **adm.fresh())
    assert r.status_code == 200
    link = re.search(r'id="link">([^<]+)<', r.text)
    assert link is not None and link.group(1).startswith("http://testserver/otpgate/enrol/")
    token = link.group(1).rsplit("/", 1)[1]
    inv = adm.store.get_invitation(invitations.digest(token))
    assert inv is not None and inv.username == "dave" and not inv.reset
    assert inv.expires == adm.clock() + 86400
    listed = adm.client.get("/admin", params={"state": "invited"})
    assert ">dave<" in listed.text
    # A taken or bad name, a made-up expiry: refused before the step-up spends a code.
    assert adm.post("/admin/invite", username="alice").status_code == 409
    assert adm.post("/admin/invite", username="bad name").status_code == 400
    assert adm.post("/admin/invite", username="erin", expires="99y").status_code == 400
    r = adm.post("/admin/users/alice/reset", type="hotp", expires="1h", **adm.fresh())
    assert r.status_code == 200
    reset = re.search(r'id="link">[^<]+/enrol/([^<]+)<', r.text)
    assert reset is not None
    inv = adm.store.get_invitation(invitations.digest(reset.group(1)))
    assert inv is not None and inv.reset and inv.username == "alice"
    log = adm.audit_path.read_text()
    assert token not in log and reset.group(1) not in log
    assert [x["action"] for x in adm.admin_lines()] == ["invite", "reset"]


def test_inviting_needs_a_step_up(adm: Admin) -> None:
    """Issue 17, 4: a stolen administrator's session minted enrolment links with one POST."""
    adm.sign_in()
    form = adm.client.get("/admin/invite")
    assert 'name="pin"' in form.text and 'name="code"' in form.text
    used = {"pin": "4321", "code": code(adm.clock, ROOT_KEY)}  # the sign-in's, still lingering
    for data in ({}, used, {"pin": "4321", "code": "000000"}, {"pin": "0000", "code": "1"}):
        r = adm.post("/admin/invite", username="dave", type="totp", expires="24h", **data)
        assert r.status_code == 403 and 'id="link"' not in r.text
        assert 'aria-invalid="true"' in r.text and 'value="dave"' in r.text
    assert adm.store.list_invitations() == []
    assert adm.admin_lines() == []
    r = adm.post("/admin/invite", username="dave", type="totp", expires="24h", **adm.fresh())
    assert r.status_code == 200 and 'id="link"' in r.text
    assert [x["action"] for x in adm.admin_lines()] == ["invite"]


def test_removing_a_user_in_the_browser_kills_their_links(adm: Admin) -> None:
    """Issue 17, 1: a reset link outlived the removal and enrolled its holder."""
    adm.sign_in()
    r = adm.post("/admin/users/alice/reset", type="totp", expires="24h", **adm.fresh())
    link = re.search(r'id="link">[^<]+/enrol/([^<]+)<', r.text)
    assert link is not None
    enrol = "/enrol/" + link.group(1)
    assert adm.client.get(enrol).status_code == 200
    assert adm.post("/admin/users/alice/remove", **adm.fresh()).status_code == 303
    adm.store.add(UserRecord("alice", TokenType("HOTP", 30, 6), b"n" * 20, Pin("plain", PIN)))
    refused = adm.client.get(enrol)
    assert refused.status_code == 410 and "withdrawn" in refused.text
    inv = adm.store.get_invitation(invitations.digest(link.group(1)))
    assert inv is not None and inv.status == "revoked"


def test_resync_with_two_consecutive_codes(adm: Admin) -> None:
    adm.store.add(UserRecord("hank", TokenType("HOTP", 0, 6), KEY, Pin("plain", PIN)))
    from otpgate.otp.algorithms import hotp

    adm.sign_in()
    r = adm.post("/admin/users/hank/resync", code1=hotp(KEY, 40), code2=hotp(KEY, 42))
    assert r.status_code == 400
    r = adm.post("/admin/users/hank/resync", code1=hotp(KEY, 40), code2=hotp(KEY, 41))
    assert r.status_code == 303
    hank = adm.store.get("hank")
    assert hank is not None and hank.state.token.counter == 42


def test_the_audit_view_filters_and_the_status_page_counts(adm: Admin) -> None:
    adm.sign_in()
    adm.post("/admin/users/carol/unlock")
    r = adm.client.get("/admin/audit", params={"result": "admin"})
    assert r.status_code == 200 and ">User unlocked<" in r.text and "root (browser)" in r.text
    r = adm.client.get("/admin/audit", params={"result": "accept", "user": "root"})
    assert ">User unlocked<" not in r.text and "Signed in: PIN and one-time code" in r.text
    r = adm.client.get("/admin/audit", params={"since": "2099-01-01T00:00"})
    assert "No audit lines match." in r.text
    for bad in ({"result": "x"}, {"since": "yesterday"}, {"end": "-1"}):
        assert adm.client.get("/admin/audit", params=bad).status_code == 400
    r = adm.client.get("/admin/status")
    assert r.status_code == 200
    assert re.search(r'href="\.\./admin">3<', r.text)  # root, alice, carol
    assert re.search(r'state=never">2<', r.text)  # alice, carol


def test_pages_speak_german(adm: Admin) -> None:
    adm.sign_in()
    r = adm.client.get("/admin", headers={"Accept-Language": "de"})
    assert 'lang="de"' in r.text and "Benutzer" in r.text


def test_working_in_the_admin_pages_keeps_the_session_alive(adm: Admin) -> None:
    adm.sign_in()
    for _ in range(6):  # 6 x 10 min > the 30 min idle timeout
        adm.clock.advance(600)
        r = adm.client.get("/admin")
        assert r.status_code == 200
    adm.clock.advance(1801)
    assert adm.client.get("/admin").status_code == 303


def test_every_link_and_form_works_behind_a_proxy_prefix(adm: Admin) -> None:
    """As behind the nginx example: the browser sees /otpgate/..., the gate gets /...."""
    import urllib.parse

    inner = adm.app

    async def stripped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            assert path.startswith("/otpgate/"), path  # a link that left the prefix
            scope = {**scope, "path": path.removeprefix("/otpgate"), "raw_path": None}
        await inner(scope, receive, send)

    client = TestClient(stripped, client=PROXY, follow_redirects=False)
    page = client.get("/otpgate/admin")
    assert page.status_code == 303
    login = urllib.parse.urljoin("http://testserver/otpgate/admin", page.headers["location"])
    assert login.startswith("http://testserver/otpgate/login?rd=%2Fotpgate%2Fadmin")
    form = client.get(login)
    r = client.post(
        "/otpgate/login",
        data={
            "username": "root",
            "pin": "4321",
            "code": code(adm.clock, ROOT_KEY),
            "csrf": csrf_token(form.text),
            "rd": "/otpgate/admin",
        },
    )
    assert r.headers["location"] == "/otpgate/admin"
    seen: set[str] = set()
    todo = ["http://testserver/otpgate/admin"]
    while todo:
        url = todo.pop()
        if url in seen or url.endswith("/logout"):
            continue
        seen.add(url)
        r = client.get(url)
        if r.status_code == 303:  # a POST-only action's address, opened with GET
            back = urllib.parse.urljoin(url, r.headers["location"])
            assert back.startswith("http://testserver/otpgate/admin/users/"), url
            continue
        assert r.status_code == 200, url
        for target in re.findall(r'(?:href|action)="([^"#]+)"', r.text):
            full = urllib.parse.urljoin(url, target.replace("&amp;", "&"))
            if full.startswith("http://testserver/otpgate/admin"):
                todo.append(full)
    # Users, user pages, every action's page, invite, audit, status, the pagers.
    assert len(seen) > 25
    assert "http://testserver/otpgate/admin/users/carol/remove" in seen
    # A POST answered with a redirect lands under the prefix too.
    page = client.get("/otpgate/admin/users/carol")
    r = client.post("/otpgate/admin/users/carol/unlock", data={"csrf": csrf_token(page.text)})
    where = urllib.parse.urljoin(
        "http://testserver/otpgate/admin/users/carol/unlock", r.headers["location"]
    )
    assert where == "http://testserver/otpgate/admin/users/carol?done=unlocked"
    client.close()
