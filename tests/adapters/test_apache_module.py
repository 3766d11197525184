"""otpgate in real Apache where mod_authn_otp's configuration is copied over.

Each test states what mod_authn_otp 1.1.12 answers (from its source,
``authn_otp_check_password`` in mod_authn_otp.c) and checks that otpgate,
given the same directives by name, answers the same through real Apache
children (prefork: one connection per child, so a client that keeps its
connection keeps its child).  The users file is the module's, in its format.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from otpgate.login.pins import apr1_md5
from otpgate.otp.algorithms import totp

from .apache_server import APACHE_PREFORK, apache_and_venv, run_apache_conf

pytestmark = [pytest.mark.apache, pytest.mark.slow]

IVY_KEY = b"apache-ivy---key-006"
JAY_KEY = b"apache-jay---key-007"
GUS_KEY = b"apache-gus---key-008"
IDLE = 8  # OTPAuthMaxIdle (the module wants 16 at least; the rule is the same)

# One <Location> per way of copying the module's directives; the next provider
# after otpgate is Apache's own "file", as in "AuthBasicProvider OTP file".
LOCATION = """
<Location /app/{name}>
    AuthType Basic
    AuthName "{name}"
    AuthBasicProvider {providers}
    WSGIAuthUserScript {dir}/{name}.py
    AuthUserFile {user_file}
    Require valid-user
</Location>
"""

SCRIPT = """from otpgate.adapters.apache import provider
check_password = provider(None, OTPAuthUsersFile={users!r}{more})
"""

SITES = {
    # name: (providers, AuthUserFile, the directives after OTPAuthUsersFile)
    "off": ("wsgi file", "htpasswd", f", OTPAuthMaxIdle={IDLE}"),
    "on": ("wsgi file", "htpasswd", ", OTPAuthFallThrough=True"),
    # The module's "file" provider checks gus's "+" PIN against the AuthUserFile.
    "pins": ("wsgi", "data/pins", ", OTPAuthPINAuthProvider='file', AuthUserFile={pins!r}"),
}


class Site(NamedTuple):
    url: str
    users: Path


def _htpasswd(entries: dict[str, str]) -> str:
    return "".join(f"{u}:{apr1_md5(p.encode(), b'otpgate1')}\n" for u, p in entries.items())


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    apache, venv = apache_and_venv()
    directory = Path(tempfile.mkdtemp(prefix="otpgate-apache-module-"))
    try:
        os.chmod(directory, 0o755)  # noqa: S103 - www-data must traverse it
        data = directory / "data"
        data.mkdir()
        users = data / "users"
        users.write_text(
            "# mod_authn_otp users file\n"
            f"HOTP/T30 ivy 2468 {IVY_KEY.hex()}\n"
            f"HOTP/T30 jay 1357 {JAY_KEY.hex()}\n"
            f"HOTP/T30 gus + {GUS_KEY.hex()}\n"
        )
        users.chmod(0o600)
        # The next provider's users: hank only there, ivy in both.
        (directory / "htpasswd").write_text(_htpasswd({"hank": "hank-pass", "ivy": "ivy-pass"}))
        (data / "pins").write_text(_htpasswd({"gus": "8642"}))
        body = f"WSGIPythonHome {venv}\nWSGIDestroyInterpreter Off\n"
        for name, (providers, user_file, more) in SITES.items():
            more = more.format(pins=str(data / "pins"))
            script = SCRIPT.format(users=str(users), more=more)
            (directory / f"{name}.py").write_text(script)
            user_file = str(directory / user_file)
            body += LOCATION.format(
                name=name, providers=providers, dir=directory, user_file=user_file
            )
        if os.geteuid() == 0:  # the children will be www-data
            shutil.chown(data, "www-data", "www-data")
            for f in data.iterdir():
                shutil.chown(f, "www-data", "www-data")
        with run_apache_conf(apache, directory, body, mpm=APACHE_PREFORK) as port:
            yield Site(f"http://127.0.0.1:{port}", users)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _get(c: httpx.Client, path: str, user: str, password: str) -> httpx.Response:
    return c.get(path, auth=(user, password))


def test_an_unknown_user_goes_to_the_next_provider(site: Site) -> None:
    # The module: find_update_user answers AUTH_USER_NOT_FOUND for a name not
    # in the file, whatever OTPAuthFallThrough says, and Apache asks "file".
    # otpgate refused such names (401) without OTPAuthFallThrough, and counted
    # them, so a user of the next provider, whose browser sends the password
    # with every request, was throttled out after a few.
    with httpx.Client(base_url=site.url, timeout=30) as c:
        for _ in range(8):
            r = _get(c, "/app/off/", "hank", "hank-pass")
            assert r.status_code == 200 and r.text == "REMOTE_USER=hank\n"
        # Off: an OTP user's refusal is final, as in the module: ivy's password
        # of the next provider does not get her in.
        assert _get(c, "/app/off/", "ivy", "ivy-pass").status_code == 401
        assert _get(c, "/app/off/", "hank", "wrong").status_code == 401


def test_fall_through_passes_a_refused_password_on(site: Site) -> None:
    # The module with OTPAuthFallThrough On: a wrong PIN (here: ivy's password
    # of the next provider) answers AUTH_USER_NOT_FOUND, and "file" lets her
    # in.  otpgate passed on unknown users only: 401.
    with httpx.Client(base_url=site.url, timeout=30) as c:
        r = _get(c, "/app/on/", "ivy", "ivy-pass")
        assert r.status_code == 200 and r.text == "REMOTE_USER=ivy\n"
        r = _get(c, "/app/on/", "ivy", "2468" + totp(IVY_KEY, time.time()))
        assert r.status_code == 200 and r.text == "REMOTE_USER=ivy\n"
        assert _get(c, "/app/on/", "hank", "hank-pass").status_code == 200
        assert _get(c, "/app/on/", "ivy", "2468000000").status_code == 401  # nobody's


def test_three_children_share_the_idle_time(site: Site) -> None:
    # OTPAuthMaxIdle: a login, then the same password in a second child 5 s
    # later and in a third 5 s after that (10 s after the login, 5 s after the
    # last use).  The module writes the last use to the file (at most every
    # idle/16 s) and answers 200, 200, 200; otpgate's third child counted
    # from the login: 401.
    password = "1357" + totp(JAY_KEY, time.time())
    limits = httpx.Limits(keepalive_expiry=120)  # each client keeps its connection
    clients = [httpx.Client(base_url=site.url, timeout=30, limits=limits) for _ in range(3)]
    try:
        children, start = [], time.monotonic()
        for i, c in enumerate(clients):
            if i:
                time.sleep(max(0.0, start + 5 * i - time.monotonic()))
            r = _get(c, "/app/off/", "jay", password)
            assert r.status_code == 200, (i, time.monotonic() - start)
            children.append(r.headers["x-child"])
        assert len(set(children)) == 3, children  # three children answered
        assert time.monotonic() - start < IDLE + 5  # the last one well before idle ran out
    finally:
        for c in clients:
            c.close()
    # The file holds the last use, in the module's own field.
    fields = next(ln for ln in site.users.read_text().splitlines() if " jay " in ln).split()
    assert fields[0] == "HOTP/T30" and fields[5:7] == ["0", password[4:]]


def test_pin_auth_provider_file_with_auth_user_file(site: Site) -> None:
    # "OTPAuthPINAuthProvider file" with the AuthUserFile the module's "file"
    # provider reads: gus's "+" PIN is checked there.  otpgate refused to start
    # with that name, and so refused every login.
    with httpx.Client(base_url=site.url, timeout=30) as c:
        r = _get(c, "/app/pins/", "gus", "8642" + totp(GUS_KEY, time.time()))
        assert r.status_code == 200 and r.text == "REMOTE_USER=gus\n"
        assert (
            _get(c, "/app/pins/", "gus", "1111" + totp(GUS_KEY, time.time() + 30)).status_code
            == 401
        )
