"""docs/otrs.md's nginx site, run for real with an echo application standing in
for OTRS: agents need a PIN and a code, customers do not, and OTRS never sees
a Remote-User header a client made up."""

from __future__ import annotations

import ast
import base64
import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require_tool
from otpgate.config.loader import load_config
from otpgate.otp.algorithms import totp
from procs import free_port, nginx_conf, serving, started
from web.conftest import csrf_token
from web.servers import NGINX_ALICE_KEY as ALICE_KEY
from web.servers import NGINX_USERS, SECRET, make_store

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs/otrs.md").read_text()

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

# Stands in for OTRS: says which user it was handed and what was asked.
ECHO = """
    server {{
        listen 127.0.0.1:{port};
        default_type text/plain;
        location / {{ return 200 "user=[$http_remote_user] uri=$request_uri\\n"; }}
    }}
"""


def _block(name: str, lang: str) -> str:
    block = re.search(rf"<!-- otrs: {name} -->\n```{lang}\n(.*?)```", DOC, re.S)
    assert block is not None, name
    return block[1]


@contextlib.contextmanager
def _serve(d: Path, customers: bool) -> Iterator[str]:
    """The doc's nginx site, an otpgate and an echo OTRS; ``customers``: with the doc's
    one-line change that gives customer.pl a code too."""
    nginx = require_tool("nginx")
    port, gate, otrs = free_port(), free_port(), free_port()
    conf = (
        _block("nginx", "nginx")
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
        .replace("127.0.0.1:9090", f"127.0.0.1:{gate}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{otrs}")
    )
    assert conf.count(f"127.0.0.1:{otrs}") == 3
    if customers:
        changed = _block("customers", "nginx").strip()
        opened = "location ~ ^/otrs/(customer|public|nph-genericinterface)\\.pl {"
        assert opened in conf
        conf = conf.replace(opened, changed)
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
    with (
        serving(config, d, port=gate),
        started(argv, port, log, "nginx"),
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(tmp_path_factory.mktemp("otrs"), customers=False) as url:
        yield url


def _sign_in(c: httpx.Client, site: str, path: str) -> None:
    """Follow the gate's redirect for ``path`` and sign in as alice."""
    first = c.get(path, headers={"Remote-User": "root@x"})
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
            "rd": path,
        },
        headers={"Origin": site},
    )
    assert login.status_code == 303, login.text


def test_agent_signs_in_and_otrs_gets_the_user(site: str) -> None:
    with httpx.Client(base_url=site, headers={"Accept": "text/html"}) as c:
        _sign_in(c, site, "/otrs/index.pl?Action=AgentDashboard")
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


def test_customers_with_a_code_too(tmp_path: Path) -> None:
    """The doc's one-line change: customer.pl needs a PIN and a code; the rest stays open."""
    with (
        _serve(tmp_path, customers=True) as site,
        httpx.Client(base_url=site, headers={"Accept": "text/html"}) as c,
    ):
        public = c.get("/otrs/public.pl", headers={"Remote-User": "root@x"})
        assert public.status_code == 200 and public.text == "user=[] uri=/otrs/public.pl\n"
        _sign_in(c, site, "/otrs/customer.pl")
        customer = c.get("/otrs/customer.pl", headers={"Remote-User": "root@x"})
        assert customer.text == "user=[alice] uri=/otrs/customer.pl\n"


def _directives(block: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(OTPAuth\w+)\s+\"?([^\"\n]*)\"?$", block, re.M))


def test_the_apache_way_keeps_every_directive_of_the_module() -> None:
    """OTPAuthMaxLinger 3600 must not become otpgate's 600 in silence: every OTPAuth*
    line of the original block is in the provider call, with its value."""
    before = _directives(_block("before", "apache"))
    assert before["OTPAuthMaxLinger"] == "3600"
    tree = ast.parse(_block("after", "python"))
    [call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "provider"
    ]
    after = {k.arg: str(ast.literal_eval(k.value)) for k in call.keywords if k.arg}
    assert after == before
    assert load_config(None, env={}, directives=after).auth.max_linger == 3600
    assert load_config(None, env={}).auth.max_linger == 600  # what leaving it out gives
