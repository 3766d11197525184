"""docs/migrating.md: its example users file through otpgate's defaults and through
the settings that restore mod_authn_otp's behaviour, row by row of its table; and
its switch-over, run as written from an empty directory, with Apache at the end."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import guides
from adapters.apache_server import run_apache
from conftest import missing, require_tool
from otpgate.adapters import apache
from otpgate.config.loader import load_config
from otpgate.login.authenticator import Authenticator, Decision
from otpgate.login.pins import apr1_md5
from otpgate.otp.algorithms import hotp, totp
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import Token, TokenState
from otpgate.store import open_store
from otpgate.store.records import Pin, UserState
from otpgate.store.usersfile import UsersFileStore, format_line
from procs import OTPGATE, otpgate_env
from system_python import system_venv

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs/migrating.md").read_text()
NOW = 1_800_000_000.0
IP = "192.0.2.7"


def _block(marker: str) -> str:
    m = re.search(rf"<!-- migrating: {marker} -->\n```\w*\n(.*?)```", DOC, re.S)
    assert m is not None, marker
    return m[1]


def _table() -> list[dict[str, str]]:
    m = re.search(r"<!-- migrating: behaviour -->\n((?:\|.*\n)+)", DOC)
    assert m is not None
    lines = m[1].splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


USERS = _block("users")
KEY = bytes.fromhex(USERS.split()[USERS.split().index("ann") + 2])
ROWS = _table()


class Site:
    """The example users file and one of the two configurations."""

    def __init__(self, tmp: Path, settings: str) -> None:
        self.tmp = tmp
        self.users = tmp / "users"
        self.users.write_text(USERS)
        self.users.chmod(0o600)
        self.conf = tmp / "otpgate.toml"
        self.conf.write_text(_block(settings).replace("/etc/otp/users", str(self.users)))
        self.config = load_config(self.conf, env={})
        assert self.config.store.url == f"users-file:{self.users}"
        self.auth = self.process()

    def process(self, **changes: Any) -> Authenticator:
        """Another gate process (an Apache child) on the file, with settings changed."""
        settings = dataclasses.replace(self.config.auth_settings(), **changes)
        return Authenticator(UsersFileStore(str(self.users)), settings)

    def login(self, user: str, password: str, at: float = 0.0) -> Decision:
        return self.auth.login(self.auth.attempt(user, password, IP), now=NOW + at)

    def apache(self, **directives: object) -> apache.CheckPassword:
        """The Apache provider with this configuration and these directives."""
        return apache.provider(self.conf, **directives)

    def append(self, line: str) -> None:
        self.users.write_text(self.users.read_text() + line + "\n")


def _event_ahead(s: Site) -> Decision:
    return s.login("ann", "1234" + hotp(KEY, 7))


def _time_behind(s: Site) -> Decision:
    return s.login("bob", "5678" + totp(KEY, NOW - 90))


def _hex_code(s: Site) -> Decision:
    return s.login("ann", "1234" + Token(parse_token_type("HOTP/E"), KEY).hex_code(1))


def _wrong_pin_same_code(s: Site) -> Decision:
    assert not s.login("ann", "9999" + hotp(KEY, 1)).ok
    return s.login("ann", "1234" + hotp(KEY, 1), at=1)


def _failures_in_file(s: Site) -> Decision:
    return s.login("carl", "4321" + hotp(KEY, 1))


def _failures_in_file_locked(s: Site) -> Decision:
    # The doc's own command, run as written (with the store named by the environment).
    row = next(r for r in ROWS if r["id"] == "failures-in-file")
    command = re.search(r"`(otpgate user lock .*?)`", row["why, and the setting"])
    assert command is not None
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OTPGATE_STORE": f"users-file:{s.users}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command[1].replace("\\|", "|")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "locked carl" in done.stderr and "ann" not in done.stderr
    return s.login("carl", "4321" + hotp(KEY, 1))


def _linger(s: Site) -> Decision:
    assert s.login("ann", "1234" + hotp(KEY, 1)).ok
    return s.login("ann", "1234" + hotp(KEY, 1), at=599)


def _linger_over(s: Site) -> Decision:
    assert s.login("ann", "1234" + hotp(KEY, 1)).ok
    return s.login("ann", "1234" + hotp(KEY, 1), at=601)


def _guessing(s: Site) -> Decision:
    for i in range(3):
        assert not s.login("ann", "1234000000", at=i * 100).ok
    return s.login("ann", "1234000000", at=300)


def _unknown_user(s: Site) -> bool | None:
    check = s.apache()
    answers = {check({"REMOTE_ADDR": IP}, "hank", "hank's-htpasswd-password") for _ in range(10)}
    return answers.pop() if len(answers) == 1 else False


def _fall_through_wrong_pin(s: Site) -> bool | None:
    return s.apache(OTPAuthFallThrough=True)({"REMOTE_ADDR": IP}, "ann", "9999" + hotp(KEY, 1))


def _fall_through_wrong_code(s: Site) -> bool | None:
    return s.apache(OTPAuthFallThrough=True)({"REMOTE_ADDR": IP}, "ann", "1234000000")


def _idle_children(s: Site) -> Decision:
    first, second, third = (s.process(max_idle=20.0) for _ in range(3))
    password = "1234" + hotp(KEY, 1)
    assert first.login(first.attempt("ann", password, IP), now=NOW).ok
    assert second.login(second.attempt("ann", password, IP), now=NOW + 12).ok
    return third.login(third.attempt("ann", password, IP), now=NOW + 24)


def _duplicate_line(s: Site) -> Decision:
    s.append(f"HOTP/E ann 9999 {KEY.hex()} 0")
    auth = s.process()
    return auth.login(auth.attempt("ann", "1234" + hotp(KEY, 1), IP), now=NOW)


def _pin_provider_file(s: Site) -> bool | None:
    s.append(f"HOTP/E dora + {KEY.hex()} 0")
    pins = s.tmp / "pins"
    pins.write_text("dora:" + apr1_md5(b"2580", b"migrate1") + "\n")
    check = s.apache(OTPAuthPINAuthProvider="file", AuthUserFile=str(pins))
    return check({"REMOTE_ADDR": IP}, "dora", "2580" + hotp(KEY, 1))


def _older_code_shared(s: Site) -> Decision:
    newer, older = totp(KEY, NOW), totp(KEY, NOW - 30)
    assert s.login("bob", "5678" + newer).ok
    # The module accepts the older code and rewrites bob's line (print_user).
    state = UserState(TokenState(-1), last_otp=older, last_auth=NOW + 1, last_ip=IP)
    line = format_line("bob", parse_token_type("HOTP/T30"), KEY, Pin("plain", "5678"), state)
    lines = [ln for ln in s.users.read_text().splitlines(keepends=True) if " bob " not in ln]
    tmp = s.tmp / "users.module"
    tmp.write_text("".join(lines) + line.decode())
    tmp.chmod(0o600)
    os.replace(tmp, s.users)
    return s.login("bob", "5678" + newer, at=1.5)


SCENARIOS: dict[str, Callable[[Site], Decision | bool | None]] = {
    "event-ahead": _event_ahead,
    "time-behind": _time_behind,
    "hex-code": _hex_code,
    "wrong-pin-same-code": _wrong_pin_same_code,
    "failures-in-file": _failures_in_file,
    "failures-in-file-locked": _failures_in_file_locked,
    "linger": _linger,
    "linger-over": _linger_over,
    "guessing": _guessing,
    "unknown-user": _unknown_user,
    "fall-through-wrong-pin": _fall_through_wrong_pin,
    "fall-through-wrong-code": _fall_through_wrong_code,
    "idle-children": _idle_children,
    "duplicate-line": _duplicate_line,
    "pin-provider-file": _pin_provider_file,
    "older-code-shared": _older_code_shared,
}


@pytest.fixture(autouse=True)
def _fresh_apache() -> Iterator[None]:
    apache.reset()
    yield
    apache.reset()


def test_every_row_has_a_scenario() -> None:
    assert [r["id"] for r in ROWS] == list(SCENARIOS)


def _outcome(decision: Decision | bool | None) -> str:
    """A Decision, or the Apache provider's answer (``None``: the next provider asks)."""
    if not isinstance(decision, Decision):
        return {True: "accepted", False: "refused", None: "passed on"}[decision]
    if decision.ok:
        return "accepted"
    return "refused, and told to wait" if decision.retry_after is not None else "refused"


@pytest.mark.parametrize(
    ("column", "settings"),
    [("otpgate defaults", "otpgate"), ("with the module's settings", "module")],
)
@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_behaviour_table(tmp_path: Path, row: dict[str, str], column: str, settings: str) -> None:
    site = Site(tmp_path, settings)
    assert _outcome(SCENARIOS[row["id"]](site)) == row[column]


# --- Switching over, as written ------------------------------------------------------------


def _apache_login(url: str, user: str, password: str) -> int:
    return httpx.get(f"{url}/app/", auth=(user, password), timeout=30).status_code


@pytest.mark.slow
@pytest.mark.apache
def test_switching_over_as_written() -> None:
    apache = require_tool("apache2")
    if os.geteuid() != 0:
        missing("root (the guide gives the users file to www-data)")
    steps = guides.walk_through(ROOT / "docs/migrating.md")
    assert sorted(steps) == list(range(1, 7)), steps
    with guides.open_to_all() as tmp:
        m = guides.Machine(tmp, under_root=("/etc/otp", "/etc/otpgate", "/var/lib/otpgate"))
        users = m.path("/etc/otp/users")
        users.parent.mkdir(parents=True)
        users.write_text(USERS)  # the module's file, as it was
        users.chmod(0o600)

        m.steps(steps[1] + steps[2] + steps[3])
        etc = m.path("/etc/otpgate")
        assert load_config(etc / "otpgate.toml", env={}).auth.max_otp_failures == 10
        locking = m.run(steps[4][0])
        assert locking.returncode == 0, locking.stderr
        assert "locked carl (12 failures)" in locking.stderr and "ann" not in locking.stderr

        m.steps(steps[5])
        script = (etc / "apache-auth.py").read_text()
        assert "/etc/otpgate/otpgate.toml" in script
        script = script.replace("/etc/otpgate/otpgate.toml", str(etc / "otpgate.toml"))
        with run_apache(apache, tmp, system_venv(), script) as port:
            url = f"http://127.0.0.1:{port}"
            assert _apache_login(url, "ann", "1234" + hotp(KEY, 1)) == 200
            assert _apache_login(url, "carl", "4321" + hotp(KEY, 1)) == 401  # still locked
        # www-data wrote the file: ann's counter moved past the code, in the module's format.
        assert re.search(r"^HOTP\S*\s+ann\s+1234\s+\S+\s+[1-9]", users.read_text(), re.M)

        m.steps(steps[6][:-1])
        imported = m.run(steps[6][-1])
        assert imported.returncode == 0, imported.stderr
        key_file = etc / "otpgate.key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        store = open_store(
            f"sqlite:///{m.path('/var/lib/otpgate')}/otpgate.db", key_file=str(key_file)
        )
        try:
            ann, carl = store.get("ann"), store.get("carl")
        finally:
            store.close()
        assert ann is not None and ann.pin.kind == "hash" and ann.state.locked_until is None
        assert carl is not None and carl.state.locked_until == math.inf


def test_the_module_table_alone_lacks_only_the_session_secret(tmp_path: Path) -> None:
    """The guide's block is the login part: alone, ``config check`` names what ``init``
    adds, once (it was printed twice)."""
    users = tmp_path / "users"
    users.write_text(USERS)
    users.chmod(0o600)
    conf = tmp_path / "otpgate.toml"
    conf.write_text(_block("module").replace("/etc/otp/users", str(users)))
    done = subprocess.run(
        [*OTPGATE, "config", "check", "--config", str(conf)],
        capture_output=True,
        text=True,
        env=otpgate_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "otpgate: no session secret: set web.session_secret_file (one secret per line) "
        "or web.session_secrets",
        f"otpgate: {conf}: 1 problem(s)",
    ]


# -- From privacyIDEA ------------------------------------------------------------

PI_KEY = "3132333435363738393031323334353637383930"
PI_EXPORT = f"""alice@defrealm, TOTP0001, {PI_KEY}, totp, 6, 30
bob.smith@example.com@defrealm, OATH0002, {PI_KEY}, hotp, 8
n/a, TOTP0003, {PI_KEY}, totp, 6, 30
alice@defrealm, TOTP0004, {PI_KEY[:-2]}31, totp, 8, 60
carol@defrealm, TOTP0005, {PI_KEY}, totp, 6, 60
"""


def test_from_privacyidea_as_written(tmp_path: Path) -> None:
    (tmp_path / "tokens.csv").write_text(PI_EXPORT)
    env = otpgate_env({"PATH": f"{Path(OTPGATE[0]).parent}:/usr/bin:/bin"})
    done = subprocess.run(
        ["bash", "-e", "-c", _block("privacyidea")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "users").exists() and not (tmp_path / "tokens.csv").exists()
    store = open_store(f"sqlite:///{tmp_path / 'otpgate.db'}")
    try:
        users = {u.username: u for u in store.list_users()}
    finally:
        store.close()
    # Owners without realms; one token each (the first); nobody's token left out.
    assert sorted(users) == ["alice", "bob.smith@example.com", "carol"]
    assert users["alice"].token_type.step == 30
    assert users["alice"].key == bytes.fromhex(PI_KEY)
    assert users["bob.smith@example.com"].token_type.step == 0
    assert users["bob.smith@example.com"].token_type.digits == 8
    assert users["carol"].token_type.step == 60
    # Locked, and no PIN, until an administrator gives one.
    auth = Authenticator(open_store(f"sqlite:///{tmp_path / 'otpgate.db'}"))
    try:
        attempt = auth.attempt("alice", totp(bytes.fromhex(PI_KEY), NOW), IP)
        decision = auth.login(attempt, now=NOW)
    finally:
        auth.close()
    assert not decision.ok
    assert all(u.pin.kind == "none" for u in users.values())
