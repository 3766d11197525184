"""nginx auth_request in front of an application, with the gate deciding (real servers)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import require_tool
from otpgate.otp import totp

from .conftest import csrf_token
from .servers import make_store, run_gate, run_nginx, write_gate_config

pytestmark = [pytest.mark.needs_tool, pytest.mark.slow]

ALICE_KEY = b"nginx-alice-key-0001"
BOB_KEY = b"nginx-bob---key-0002"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    nginx = require_tool("nginx")
    directory = tmp_path_factory.mktemp("nginx")
    url, key_file = make_store(directory, [("alice", "1111", ALICE_KEY), ("bob", "2222", BOB_KEY)])
    config = write_gate_config(directory, url, key_file)
    with run_gate(config, directory) as gate_port, run_nginx(nginx, directory, gate_port) as port:
        yield f"http://127.0.0.1:{port}"


def test_browser_flow_401_login_200_logout_401(site: str) -> None:
    with httpx.Client(base_url=site, headers={"Accept": "text/html"}) as c:
        first = c.get("/app/hello?x=1", headers={"Remote-User": "mallory"})
        assert first.status_code == 302
        # nginx makes the gate's path absolute (absolute_redirect on).
        assert first.headers["location"] == f"{site}/otpgate/login?rd=%2Fapp%2Fhello%3Fx%3D1"
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
            headers={"Origin": site},
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
        assert again.headers["location"].startswith(f"{site}/otpgate/login")
    with httpx.Client(base_url=site, headers={"Accept": "text/html"}) as c2:
        # A copy of the old cookie does not come back to life.
        replay = c2.get("/app/hello", cookies={"otpgate_session": old_cookie})
        assert replay.status_code == 302


def test_basic_client_flow(site: str) -> None:
    with httpx.Client(base_url=site) as c:
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


def test_gate_pages_through_the_proxy(site: str) -> None:
    with httpx.Client(base_url=site) as c:
        assert c.get("/otpgate/healthz").json() == {"status": "ok"}
        assert c.get("/otpgate/metrics").status_code == 404  # blocked by the example config
        cross = c.post(
            "/otpgate/login",
            data={"username": "alice", "pin": "1", "code": "1", "csrf": "x"},
            headers={"Origin": "https://evil.test"},
        )
        assert cross.status_code == 403
