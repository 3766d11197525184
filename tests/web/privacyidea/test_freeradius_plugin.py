"""privacyIDEA's own FreeRADIUS plugin (rlm_perl), unmodified, in front of otpgate.

FreeRADIUS 3.2 loads tests/fixtures/privacyidea-freeradius/privacyidea_radius.pm
(copied as it is from privacyidea/FreeRADIUS) and sends every Access-Request
to ``otpgate serve``'s ``/validate/check``; radclient asks.  Accept, a wrong
code, and challenge-response through Access-Challenge with ``State``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.gate_users import code, make_gate
from adapters.radius.server import RadiusReply, RadiusServer, parse_radclient, run_freeradius
from conftest import require_tool
from procs import serving
from system_python import ROOT

pytestmark = [pytest.mark.freeradius, pytest.mark.slow]

PLUGIN = ROOT / "tests/fixtures/privacyidea-freeradius/privacyidea_radius.pm"
PINS = {"alice": "1111", "bob": "2222", "carol": "3333", "dave": "4444"}
PERL_MODULE = """perl perl-privacyidea {{
\tfilename = {plugin}
\tconfig {{
\t\tconfigfile = {ini}
\t}}
}}
"""


@dataclass
class Setup:
    radius: RadiusServer
    directory: Path


def _gate_config(directory: Path) -> Path:
    config = make_gate(directory, PINS)
    with config.open("a") as f:
        f.write('\n[web]\nsession_secrets = ["' + "s" * 40 + '"]\n')
        f.write("\n[privacyidea]\nenabled = true\nchallenge_response = true\n")
    return config


def _use_the_plugin(ini: Path) -> object:
    def edit(raddb: Path) -> None:
        (raddb / "mods-enabled/otpgate").write_text(PERL_MODULE.format(plugin=PLUGIN, ini=ini))
        site = raddb / "sites-enabled/otpgate"
        text = site.read_text()
        old = "Auth-Type otpgate {\n\t\t\totpgate\n\t\t}"
        assert old in text, "examples/freeradius/sites-enabled/otpgate changed: update the test"
        site.write_text(text.replace(old, "Auth-Type otpgate {\n\t\t\tperl-privacyidea\n\t\t}"))

    return edit


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    freeradius = require_tool("freeradius")
    require_tool("radclient")
    if not Path("/usr/lib/freeradius/rlm_perl.so").exists():
        pytest.skip("FreeRADIUS's rlm_perl is not installed")
    directory = tmp_path_factory.mktemp("pi-radius")
    config = _gate_config(directory)
    with serving(config, directory) as port:
        ini = directory / "rlm_perl.ini"
        ini.write_text(f"[Default]\nURL = http://127.0.0.1:{port}/validate/check\nTIMEOUT = 10\n")
        edit = _use_the_plugin(ini)
        with run_freeradius(
            freeradius,
            directory,
            directory,  # no Python module is loaded: the plugin replaces it
            config,
            radiusd_edits=[("reject_delay = 1", "reject_delay = 0")],
            after_install=edit,  # type: ignore[arg-type]
        ) as server:
            yield Setup(server, directory)


def ask(server: RadiusServer, user: str, password: str, state: str | None = None) -> RadiusReply:
    """One Access-Request through radclient; ``state`` as radclient printed it (``0x...``)."""
    pairs = [f'User-Name = "{user}"', f'User-Password = "{password}"']
    if state is not None:
        pairs.append(f"State = {state}")
    pairs.append("Message-Authenticator = 0x00")
    where = f"127.0.0.1:{server.port}"
    done = subprocess.run(
        ["radclient", "-x", "-f", "-", "-t", "20", "-r", "1", where, "auth", server.secret],
        input=",".join(pairs) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    replies = parse_radclient(done.stdout + done.stderr)
    assert len(replies) == 1, done.stdout + done.stderr
    return replies[0]


def test_accept(setup: Setup) -> None:
    reply = ask(setup.radius, "alice", PINS["alice"] + code("alice"))
    assert reply.code == "Access-Accept", reply
    assert reply.attributes.get("Reply-Message") == "privacyIDEA access granted"


def test_wrong_code_is_rejected(setup: Setup) -> None:
    reply = ask(setup.radius, "bob", PINS["bob"] + "000000")
    # With challenge-response on, a wrong PIN+code is challenged like a PIN alone
    # (the first leg says nothing about the PIN); the code that follows is refused.
    assert reply.code in ("Access-Reject", "Access-Challenge"), reply
    if reply.code == "Access-Challenge":
        again = ask(setup.radius, "bob", code("bob"), reply.attributes["State"])
        assert again.code == "Access-Reject", again


def test_challenge_response(setup: Setup) -> None:
    first = ask(setup.radius, "carol", PINS["carol"])
    assert first.code == "Access-Challenge", first
    assert first.attributes.get("Reply-Message") == "please enter otp: "
    state = first.attributes["State"]
    second = ask(setup.radius, "carol", code("carol"), state)
    assert second.code == "Access-Accept", second
    # The transaction was used: the same State again is refused.
    replay = ask(setup.radius, "carol", code("carol"), state)
    assert replay.code == "Access-Reject", replay


def test_user_at_realm(setup: Setup) -> None:
    reply = ask(setup.radius, "dave@otpgate", PINS["dave"] + code("dave"))
    assert reply.code == "Access-Accept", reply
