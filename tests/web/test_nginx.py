"""nginx auth_request in front of an application, with the gate deciding (real servers)."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from otpgate.otp.algorithms import totp

from .conftest import csrf_token
from .servers import NGINX_ALICE_KEY as ALICE_KEY
from .servers import NGINX_BOB_KEY as BOB_KEY

pytestmark = pytest.mark.slow


def test_browser_flow_401_login_200_logout_401(nginx_site: str) -> None:
    with httpx.Client(base_url=nginx_site, headers={"Accept": "text/html"}) as c:
        first = c.get("/app/hello?x=1", headers={"Remote-User": "mallory"})
        assert first.status_code == 302
        # nginx makes the gate's path absolute (absolute_redirect on).
        assert first.headers["location"] == f"{nginx_site}/otpgate/login?rd=%2Fapp%2Fhello%3Fx%3D1"
        page = c.get(first.headers["location"])
        assert page.status_code == 200 and 'name="code"' in page.text
        login = c.post(
            "/otpgate/login",
            data={
                "username": "alice",
                "pin": "1111",
                "code": totp(ALICE_KEY, time.time()),
                "csrf": csrf_token(page.text),
                "rd": "/app/hello?x=1",
            },
            headers={"Origin": nginx_site},
        )
        assert login.status_code == 303, login.text
        assert login.headers["location"] == "/app/hello?x=1"
        old_cookie = c.cookies["otpgate_session"]
        app = c.get("/app/hello?x=1", headers={"Remote-User": "mallory"})
        assert app.status_code == 200
        assert "<h1>Hello alice</h1>" in app.text  # the client's own header was overwritten
        out_page = c.get("/otpgate/logout")
        assert "Signed in as <strong>alice</strong>" in out_page.text
        out = c.post("/otpgate/logout", data={"csrf": csrf_token(out_page.text)})
        assert out.status_code == 200 and "You have signed out." in out.text
        again = c.get("/app/hello?x=1")
        assert again.status_code == 302
        assert again.headers["location"].startswith(f"{nginx_site}/otpgate/login")
    with httpx.Client(base_url=nginx_site, headers={"Accept": "text/html"}) as c2:
        # A copy of the old cookie does not come back to life.
        replay = c2.get("/app/hello", headers={"Cookie": f"otpgate_session={old_cookie}"})
        assert replay.status_code == 302


def test_basic_client_flow(nginx_site: str) -> None:
    with httpx.Client(base_url=nginx_site) as c:
        challenge = c.get("/app/api")
        assert challenge.status_code == 401
        assert challenge.headers["www-authenticate"].startswith('Basic realm="otpgate"')
        password = "2222" + totp(BOB_KEY, time.time())
        auth = "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()
        ok = c.get("/app/api", headers={"Authorization": auth})
        assert ok.status_code == 200 and "<h1>Hello bob</h1>" in ok.text
        lingering = c.get("/app/other", headers={"Authorization": auth})
        assert lingering.status_code == 200
        wrong = "Basic " + base64.b64encode(b"bob:2222000000").decode()
        assert c.get("/app/api", headers={"Authorization": wrong}).status_code == 401
        garbled = c.get("/app/api", headers={"Authorization": "Basic %%%"})
        assert garbled.status_code == 401


def test_gate_pages_through_the_proxy(nginx_site: str) -> None:
    with httpx.Client(base_url=nginx_site) as c:
        assert c.get("/otpgate/healthz").json() == {"status": "ok"}
        assert c.get("/otpgate/metrics").status_code == 404  # blocked by the example config
        cross = c.post(
            "/otpgate/login",
            data={"username": "alice", "pin": "1", "code": "1", "csrf": "x"},
            headers={"Origin": "https://evil.test"},
        )
        assert cross.status_code == 403
