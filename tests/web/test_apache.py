"""Apache httpd + mod_wsgi with otpgate.apache.check_password (real server)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require_tool
from otpgate.otp import totp

from .servers import apache_venv, make_store, run_apache

pytestmark = [pytest.mark.needs_tool, pytest.mark.slow]

KEY = b"apache-carol-key-003"
LINGER = 2


@pytest.fixture(scope="module")
def apache_site() -> Iterator[tuple[str, Path]]:
    """The site's base URL and the gate's audit log."""
    apache = require_tool("apache2")
    if not os.path.exists("/usr/lib/apache2/modules/mod_wsgi.so"):
        from conftest import missing

        missing("mod_wsgi (apt-get install libapache2-mod-wsgi-py3)")
    venv = apache_venv()
    # Apache's children run as www-data: pytest's tmp_path (under a 0700 dir) is
    # closed to them, so this test makes its own world-traversable directory.
    directory = Path(tempfile.mkdtemp(prefix="otpgate-apache-"))
    try:
        os.chmod(directory, 0o755)  # noqa: S103 - www-data must traverse it
        data = directory / "data"
        data.mkdir()
        url, key_file = make_store(data, [("carol", "4321", KEY)])
        config = directory / "otpgate.toml"
        audit = data / "audit.log"
        config.write_text(
            f'[store]\nurl = "{url}"\nkey_file = "{key_file}"\n[auth]\naudit_log = "{audit}"\n'
        )
        # The linger comes in under its mod_authn_otp name.
        script = (
            "from otpgate.apache import provider\n"
            f"check_password = provider({str(config)!r}, OTPAuthMaxLinger={LINGER})\n"
        )
        if os.geteuid() == 0:  # the children will be www-data
            shutil.chown(data, "www-data", "www-data")
            for f in data.iterdir():
                shutil.chown(f, "www-data", "www-data")
        with run_apache(apache, directory, venv, script) as port:
            yield f"http://127.0.0.1:{port}", audit
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_check_password_401_200_linger_replay(apache_site: tuple[str, Path]) -> None:
    url, audit = apache_site
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
    assert [(line["user"], line["result"], line["reason"]) for line in lines] == [
        ("carol", "accept", "otp"),
        ("carol", "reject", "replayed"),
        ("carol", "reject", "bad_pin"),
    ]
