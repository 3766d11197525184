"""docs/otrs.md's nginx site, run for real with an echo application standing in
for OTRS: agents need a PIN and a code, customers do not, and OTRS never sees
a Remote-User header a client made up."""

from __future__ import annotations

import base64
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require_tool
from otpgate.otp import totp
from procs import free_port, nginx_conf, started
from web.conftest import csrf_token
from web.servers import NGINX_ALICE_KEY as ALICE_KEY
from web.servers import NGINX_USERS, SECRET, make_store

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs/otrs.md").read_text()

pytestmark = [pytest.mark.needs_tool, pytest.mark.slow]

# Stands in for OTRS: says which user it was handed and what was asked.
ECHO = """
    server {{
        listen 127.0.0.1:{port};
        default_type text/plain;
        location / {{ return 200 "user=[$http_remote_user] uri=$request_uri\\n"; }}
    }}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    nginx = require_tool("nginx")
    d = tmp_path_factory.mktemp("otrs")
    block = re.search(r"<!-- otrs: nginx -->\n```nginx\n(.*?)```", DOC, re.S)
    assert block is not None
    port, gate, otrs = free_port(), free_port(), free_port()
    conf = (
        block[1]
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
        .replace("127.0.0.1:9090", f"127.0.0.1:{gate}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{otrs}")
    )
    assert conf.count(f"127.0.0.1:{otrs}") == 3
    url, key_file = make_store(d, NGINX_USERS)
    config = d / "otpgate.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n'
        '[web]\nportal_url = "/otpgate"\ntrusted_proxies = ["127.0.0.1"]\n'
        f'session_secrets = ["{SECRET}"]\ncookie_secure = false\n'
    )
    argv, log = nginx_conf(
        d, ECHO.format(port=otrs) + conf, nginx=nginx, access_log=f"{d}/access.log"
    )
    gate_argv = [
        sys.executable,
        "-c",
        "from otpgate.cli import main; raise SystemExit(main())",
        "serve",
        "--config",
        str(config),
        "--listen",
        f"127.0.0.1:{gate}",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with (
        started(gate_argv, gate, d / "gate.log", "otpgate serve", env=env),
        started(argv, port, log, "nginx"),
    ):
        yield f"http://127.0.0.1:{port}"


def test_agent_signs_in_and_otrs_gets_the_user(site: str) -> None:
    with httpx.Client(base_url=site, headers={"Accept": "text/html"}) as c:
        first = c.get("/otrs/index.pl?Action=AgentDashboard", headers={"Remote-User": "root@x"})
        assert first.status_code == 302
        assert first.headers["location"].startswith(f"{site}/otpgate/login?rd=")
        page = c.get(first.headers["location"])
        login = c.post(
            "/otpgate/login",
            data={
                "username": "alice",
                "pin": "1111",
                "code": totp(ALICE_KEY, time.time()),
                "csrf": csrf_token(page.text),
                "rd": "/otrs/index.pl?Action=AgentDashboard",
            },
            headers={"Origin": site},
        )
        assert login.status_code == 303, login.text
        agent = c.get("/otrs/index.pl?Action=AgentDashboard", headers={"Remote-User": "root@x"})
        assert agent.text == "user=[alice] uri=/otrs/index.pl?Action=AgentDashboard\n"
        # OTRS's LogoutURL: the gate's sign-out page, then no more agent pages.
        out_page = c.get("/otpgate/logout")
        assert out_page.status_code == 200 and "alice" in out_page.text
        c.post("/otpgate/logout", data={"csrf": csrf_token(out_page.text)})
        assert c.get("/otrs/index.pl").status_code == 302


def test_scripts_use_basic(site: str) -> None:
    password = "2222" + totp(NGINX_USERS[1][2], time.time())
    auth = "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()
    with httpx.Client(base_url=site) as c:
        assert c.get("/otrs/index.pl").status_code == 401
        r = c.get("/otrs/index.pl", headers={"Authorization": auth})
        assert r.text == "user=[bob] uri=/otrs/index.pl\n"


@pytest.mark.parametrize(
    "path", ["/otrs/customer.pl", "/otrs/public.pl?Action=PublicFAQ", "/otrs-web/js/x.js"]
)
def test_customer_side_is_open_and_cannot_forge_a_user(site: str, path: str) -> None:
    with httpx.Client(base_url=site) as c:
        r = c.get(path, headers={"Remote-User": "root@localhost"})
        assert r.status_code == 200 and r.text == f"user=[] uri={path}\n"
