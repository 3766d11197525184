"""Apache httpd + mod_wsgi with otpgate.adapters.apache.check_password (real server)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from otpgate.otp.algorithms import totp
from web.servers import make_store

from .apache_server import apache_and_venv, run_apache

pytestmark = [pytest.mark.apache, pytest.mark.slow]

KEY = b"apache-carol-key-003"
JOERG_KEY = b"apache-joerg-key-004"
DAVE_KEY = b"apache-dave--key-005"
LINGER = 2


class Site(NamedTuple):
    url: str
    error_log: Path
    audit: Path  # what the gate decided, one JSON line per decision


@pytest.fixture(scope="module")
def apache_site() -> Iterator[Site]:
    apache, venv = apache_and_venv()
    # Apache's children run as www-data: pytest's tmp_path (under a 0700 dir) is
    # closed to them, so this test makes its own world-traversable directory.
    directory = Path(tempfile.mkdtemp(prefix="otpgate-apache-"))
    try:
        os.chmod(directory, 0o755)  # noqa: S103 - www-data must traverse it
        data = directory / "data"
        data.mkdir()
        users = [("carol", "4321", KEY), ("jörg", "1234", JOERG_KEY), ("dave", "1234", DAVE_KEY)]
        url, key_file = make_store(data, users)
        config = directory / "otpgate.toml"
        audit = data / "audit.log"
        # A long backoff: no wait runs out while the throttle test guesses.
        config.write_text(
            f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n'
            f'[auth]\naudit_log = "{audit}"\nthrottle_base = 300\n'
        )
        # The linger comes in under its mod_authn_otp name.
        script = (
            "from otpgate.adapters.apache import provider\n"
            f"check_password = provider({str(config)!r}, OTPAuthMaxLinger={LINGER})\n"
        )
        if os.geteuid() == 0:  # the children will be www-data
            shutil.chown(data, "www-data", "www-data")
            for f in data.iterdir():
                shutil.chown(f, "www-data", "www-data")
        with run_apache(apache, directory, venv, script) as port:
            yield Site(f"http://127.0.0.1:{port}", directory / "apache-error.log", audit)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_check_password_401_200_linger_replay(apache_site: Site) -> None:
    url, _, audit = apache_site
    with httpx.Client(base_url=url, timeout=30) as c:
        none = c.get("/app/")
        assert none.status_code == 401
        assert none.headers["www-authenticate"] == 'Basic realm="My application"'
        password = "4321" + totp(KEY, time.time())
        ok = c.get("/app/", auth=("carol", password))
        assert ok.status_code == 200
        assert ok.text == "REMOTE_USER=carol\n"
        again = c.get("/app/x", auth=("carol", password))
        assert again.status_code == 200, "within linger the same PIN+OTP is accepted again"
        time.sleep(LINGER + 1.5)
        # Still inside the TOTP window, so this is refused as a replay, not a stale code.
        replay = c.get("/app/", auth=("carol", password))
        assert replay.status_code == 401
        wrong_pin = c.get("/app/", auth=("carol", "9999" + totp(KEY, time.time() + 30)))
        assert wrong_pin.status_code == 401
        garbled = c.get("/app/", headers={"Authorization": "Basic %%%"})
        assert garbled.status_code in (400, 401)
    # What the gate decided, request by request (a lingering re-use is not audited;
    # the garbled header never reached it).
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    lines = [line for line in lines if line["user"] == "carol"]
    assert [(line["user"], line["result"], line["reason"]) for line in lines] == [
        ("carol", "accept", "otp"),
        ("carol", "reject", "replayed"),
        ("carol", "reject", "bad_pin"),
    ]


def _basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}


def test_credentials_that_are_not_utf8_do_not_crash_apache(apache_site: Site) -> None:
    # Debian's mod_wsgi 4.9.4 segfaults the child on such bytes, before any
    # Python runs; the shipped configuration keeps them away from it.
    crashing = [
        b"j\xffb:4321123456",  # the name (issue 9's reproduction)
        b"carol:\xff4321123456",  # the password
        b"j\xc3:1",  # a cut-off UTF-8 sequence
        b"\xed\xa0\x80:1",  # an encoded surrogate
        b"\xc0\xaf:1",  # an overlong encoding
    ]

    def decided() -> list[tuple[str, str]]:
        lines = apache_site.audit.read_text().splitlines() if apache_site.audit.exists() else []
        return [(d["user"], d["reason"]) for d in map(json.loads, lines)]

    before = len(decided())
    with httpx.Client(base_url=apache_site.url, timeout=30) as c:
        for credentials in crashing:
            for scheme in ("Basic ", "basic\t"):
                value = scheme + base64.b64encode(credentials).decode("ascii")
                r = c.get("/app/", headers={"Authorization": value})
                assert r.status_code == 401, (credentials, scheme, r.status_code)
                assert r.headers["www-authenticate"] == 'Basic realm="My application"'
        # Valid UTF-8 still reaches otpgate: a non-ASCII name logs in ...
        password = "1234" + totp(JOERG_KEY, time.time())
        ok = c.get("/app/", headers=_basic(f"jörg:{password}".encode()))
        assert ok.status_code == 200
        assert ok.text.startswith("REMOTE_USER=")
        # ... and a wrong code for it is refused by otpgate, not by the guard.
        assert c.get("/app/", headers=_basic("jörg:1234000000".encode())).status_code == 401
    time.sleep(0.5)  # the parent logs a dead child when it reaps it
    log = apache_site.error_log.read_text(errors="replace")
    assert "Segmentation fault" not in log
    assert "exit signal" not in log
    # None of the refused credentials reached the gate; the UTF-8 ones did.
    assert decided()[before:] == [("jörg", "otp"), ("jörg", "no_match")]


def test_apache_children_throttle_as_one(apache_site: Site) -> None:
    # Two children (ServerLimit 2), a new connection per guess: without a shared
    # table each child gave its own free guesses (12 of 200 reached the store
    # with four children).  Without [state] url they share a file beside the store.
    url, audit = apache_site.url, apache_site.audit
    for _ in range(24):
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.get("/app/", auth=("dave", "1234000000")).status_code == 401
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    dave = [line["reason"] for line in lines if line["user"] == "dave"]
    assert len(dave) == 24
    assert sum(reason != "throttled" for reason in dave) == 4  # free failures + 1
    assert (audit.parent / "otpgate.db.throttle").exists()
