"""privacyIDEA's PHP client, unmodified, under Debian's php-cli, against ``otpgate serve``.

The client (tests/fixtures/privacyidea-php-client, copied as it is) posts
multipart forms through curl; pi_client.php, our driver, calls it as a
plugin would and prints what it understood.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.gate_users import code, make_gate
from conftest import require_tool
from procs import serving

pytestmark = [pytest.mark.php]

DRIVER = Path(__file__).with_name("pi_client.php")
PINS = {"alice": "1111", "bob": "2222", "carol": "3333"}
KEY = "service-key-" + "k" * 30


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_tool("php")
    directory = tmp_path_factory.mktemp("pi-php")
    config = make_gate(directory, PINS)
    with config.open("a") as f:
        f.write(f'\n[web]\nsession_secrets = ["{"s" * 40}"]\napi_keys = ["{KEY}"]\n')
        f.write('\n[privacyidea]\nenabled = true\nchallenge_response = true\nprefix = "/pi"\n')
    with serving(config, directory) as port:
        yield f"http://127.0.0.1:{port}/pi"


def php(url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["php", str(DRIVER), url, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_accept_and_reject(url: str) -> None:
    password = PINS["alice"] + code("alice")
    good = php(url, "check", "alice", password)
    assert good["value"] is True and good["authentication"] == "ACCEPT", good
    # The same code again: privacyIDEA's clients expect a code to work once.
    again = php(url, "check", "alice", password)
    assert again["value"] is False, again


def test_challenge_response(url: str) -> None:
    first = php(url, "check", "bob", PINS["bob"])
    assert first["authentication"] == "CHALLENGE", first
    tid = first["transaction_id"]
    assert [c["transaction_id"] for c in first["challenges"]] == [tid]
    assert first["challenges"][0]["client_mode"] == "interactive"
    assert php(url, "poll", tid) == {"answered": False}
    second = php(url, "check", "bob", code("bob"), tid)
    assert second["value"] is True and second["authentication"] == "ACCEPT", second


def test_service_account_token_and_trigger(url: str) -> None:
    token = php(url, "token", "svc", KEY)["token"]
    assert token.count(".") == 2
    assert php(url, "token", "svc", "wrong")["token"] == ""
    triggered = php(url, "trigger", "svc", KEY, "carol")
    # No challenge without the PIN: the plugin then asks for PIN and code together.
    assert triggered["status"] is True and triggered["challenges"] == [], triggered
    assert php(url, "check", "carol", PINS["carol"] + code("carol"))["value"] is True
