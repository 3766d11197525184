"""``--serial`` refuses control characters; ``user list``/``show`` never print them raw.

The attack (issue 9, item 8): ``--serial`` accepted newlines and terminal
escapes, and ``user show``/``list`` printed them raw (forged lines, a
retitled or reprogrammed terminal).  Records that already hold such text
(written before this check, or by another tool) are shown escaped.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from otpgate._limits import has_control

from . import test_cli_admin as cli

pytestmark = pytest.mark.usefixtures("isolated")

add_user = cli.add_user

EVIL = ["S-1\nalice  HOTP/T30  -  ...", "\x1b]0;owned\x07", "S\r2", "S\x9b31m"]


@pytest.mark.parametrize("serial", EVIL)
def test_add_refuses_a_serial_with_control_characters(run: Any, db: str, serial: str) -> None:
    r = run("user", "add", "bob", "--store", db, "--no-pin", "--serial", serial)
    assert r.code != 0
    message = r.one_line_error()
    assert "serial" in message and not has_control(message)
    assert "bob" not in run("user", "list", "--store", db).out


def test_a_printable_serial_is_kept(run: Any, db: str) -> None:
    add_user(run, db, "alice", "4711", "--serial", "YubiKey #12 ü")
    assert "YubiKey #12 ü" in run("user", "show", "alice", "--store", db).out


@pytest.mark.parametrize("serial", EVIL)
def test_list_and_show_escape_what_a_record_already_holds(run: Any, db: str, serial: str) -> None:
    add_user(run, db, "alice", "4711", "--serial", "S-1")
    commands = (("user", "list"), ("user", "show", "alice"))
    clean = {argv: len(run(*argv, "--store", db).out.splitlines()) for argv in commands}
    # Written before the check existed, or by another tool: straight into the table.
    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tokens SET serial = ? WHERE username = 'alice'", (serial,))
    for argv in commands:
        r = run(*argv, "--store", db)
        assert r.code == 0
        assert not has_control(r.out.replace("\n", "")), repr(r.out)
        assert len(r.out.splitlines()) == clean[argv]  # no forged line
        assert repr(serial)[1:-1] in r.out  # shown escaped, as Python writes it
