"""The PIN policy: what a user may choose as a new PIN.

Issue 17, item 3: ``password`` passed the policy at enrolment and on the
account page (only runs, repeats, length and the user name were refused).
The common PINs and passwords are now refused wherever a new PIN is chosen:
the policy (enrolment, /lost, the account page, an administrator's
invitation), and ``otpgate user add`` / ``set-pin`` unless the administrator
insists with ``--allow-common-pin``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clitools import Runner
from otpgate.accounts.pin_policy import COMMON_PINS, PinPolicy, PinProblem, is_common

P = PinPolicy()
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pin", "problems"),
    [
        ("735191", []),
        ("correct horse", []),
        ("1234", [PinProblem.TOO_SHORT, PinProblem.SEQUENCE]),
        ("00000000", [PinProblem.REPEATED]),
        ("aaaaaa", [PinProblem.REPEATED]),
        ("123456", [PinProblem.SEQUENCE]),
        ("987654", [PinProblem.SEQUENCE]),
        ("abcdefg", [PinProblem.SEQUENCE]),
        ("dora2026", [PinProblem.USER_NAME]),
        ("DORA-DORA", [PinProblem.USER_NAME]),
        (" 735191", [PinProblem.CONTROL]),
        ("7351\x0091", [PinProblem.CONTROL]),
        ("x" * 65, [PinProblem.TOO_LONG, PinProblem.REPEATED]),
        ("", [PinProblem.TOO_SHORT]),
        ("password", [PinProblem.COMMON]),
        ("PassWord", [PinProblem.COMMON]),  # in any case
        ("112233", [PinProblem.COMMON]),
        ("1984", [PinProblem.TOO_SHORT, PinProblem.COMMON]),
        ("passwort", [PinProblem.COMMON]),
        ("Password1", [PinProblem.COMMON]),
        ("password12", []),  # the list holds the entries themselves, not what contains them
    ],
)
def test_rules(pin: str, problems: list[PinProblem]) -> None:
    assert P.problems(pin, "dora") == problems


def test_confirmation_must_match() -> None:
    assert P.problems("735191", "dora", "735192") == [PinProblem.MISMATCH]
    assert P.problems("735191", "dora", "735191") == []


def test_short_user_names_only_match_exactly() -> None:
    # "al" inside a PIN is not a disclosure; the PIN "al..." equal to it would be.
    assert P.problems("always-51", "al") == []
    assert PinPolicy(min_length=4).problems("jo12", "jo") == []


def test_minimum_is_a_setting_and_checked() -> None:
    assert PinPolicy(min_length=8).problems("7351914", "dora") == [PinProblem.TOO_SHORT]
    for bad in (3, 65):
        with pytest.raises(ValueError):
            PinPolicy(min_length=bad)


@given(st.text(max_size=80), st.text(max_size=20))
def test_never_raises_and_accepted_pins_obey_every_rule(pin: str, user: str) -> None:
    problems = P.problems(pin, user)
    if not problems:
        assert 6 <= len(pin) <= 64 and len(set(pin)) > 1
        assert pin == pin.strip()
        assert not user or pin.casefold() != user.casefold()


def test_the_blocklist_is_a_few_thousand_common_entries() -> None:
    from otpgate.accounts.pin_policy import _common

    entries = _common()
    assert 2000 <= len(entries) <= 5000
    assert {"password", "123456", "qwerty", "1234", "0000", "letmein", "dragon"} <= entries
    assert all(len(e) >= 4 and e == e.casefold() and not e.startswith("#") for e in entries)
    assert is_common("QWERTY") and is_common("Dragon") and not is_common("735191")
    assert PinPolicy(min_length=4).problems("2580", "dora") == [PinProblem.COMMON]


def test_the_message_says_why_in_english_and_german() -> None:
    from otpgate.web._catalog_de import DE
    from otpgate.web.portal.messages import PIN_PROBLEMS

    english = PIN_PROBLEMS[PinProblem.COMMON]
    assert "among the most commonly used" in english
    assert "am häufigsten verwendeten" in DE[english]


# -- the command line: user add, set-pin ----------------------------------------------------


@pytest.fixture
def cli(run: Runner, db: str) -> tuple[Runner, str]:
    return run, db


@pytest.mark.parametrize("pin", ["password", "Password", "123456", "letmein"])
def test_user_add_refuses_a_common_pin_and_writes_nothing(cli: tuple[Any, str], pin: str) -> None:
    run, url = cli
    r = run("user", "add", "alice", "--store", url, "--pin-stdin", stdin=pin + "\n")
    from otpgate.cli import _secrets

    assert r.code == 1
    assert "among the most commonly used PINs and passwords" in r.one_line_error()
    assert "--allow-common-pin" in r.one_line_error()
    assert r.one_line_error() == "otpgate: " + _secrets.COMMON  # the PIN is not echoed
    assert "alice" not in run("user", "list", "--store", url).out


def test_set_pin_refuses_a_common_pin_at_the_prompt(
    cli: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.cli import _secrets

    run, url = cli
    assert run("user", "add", "alice", "--store", url, "--pin-stdin", stdin="735191\n").code == 0
    asked: list[str] = []
    answers = iter(["qwerty", "qwerty"])

    def getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(_secrets.getpass, "getpass", getpass)
    r = run("user", "set-pin", "alice", "--store", url, "--pin-prompt")
    assert r.code == 1 and "most commonly used" in r.one_line_error()
    assert asked == ["PIN: "]  # refused at once, not after typing it twice


def test_an_administrator_may_insist(cli: tuple[Any, str]) -> None:
    run, url = cli
    r = run(
        "user", "add", "alice", "--store", url, "--pin-stdin", "--allow-common-pin",
        stdin="password\n",
    )  # fmt: skip
    assert r.code == 0, r.err
    r = run("user", "set-pin", "alice", "--store", url, "--pin-stdin", stdin="dragon\n")
    assert r.code == 1
    r = run(
        "user", "set-pin", "alice", "--store", url, "--pin-stdin", "--allow-common-pin",
        stdin="dragon\n",
    )  # fmt: skip
    assert r.code == 0, r.err


# -- the data file ships in the wheel -------------------------------------------------------


@pytest.mark.slow
def test_the_blocklist_is_found_in_an_installed_package(tmp_path: Path) -> None:
    # Build the wheel from a copy of the project, unpack it as pip would install
    # it, and ask a fresh interpreter that imports otpgate from there.
    src = tmp_path / "project"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("otpgate-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(site)
    assert f"otpgate/accounts/{COMMON_PINS}" in names
    # Every template, the administrator's pages too.
    templates = ROOT / "src" / "otpgate" / "web" / "templates"
    for path in templates.rglob("*.html"):
        assert f"otpgate/web/templates/{path.relative_to(templates)}" in names
    probe = (
        "import otpgate, otpgate.accounts.pin_policy as p; "
        "print(otpgate.__file__); print(p.is_common('Password'), p.is_common('735191'))"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    where, answer = done.stdout.splitlines()
    assert where.startswith(str(site))
    assert answer == "True False"
