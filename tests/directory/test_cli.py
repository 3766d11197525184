"""The CLI with a [directory]: user add, invite, directory enrol-group and find, config check."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import ldap
import pytest

from clitools import Runner
from slapd_proc import LDAP_BASE, OwnSlapd

from .gate import openldap, write_config

pytestmark = pytest.mark.slapd


@pytest.fixture
def config(slapd: OwnSlapd, run: Runner, isolated: Path) -> str:
    path = write_config(isolated, openldap(slapd, cache_ttl=30))
    assert run("init", "--store", f"sqlite:///{isolated}/otpgate.db").code == 0
    return str(path)


def test_user_add_keeps_a_token_for_a_directory_user(run: Runner, config: str) -> None:
    r = run("user", "add", "alice", "--config", config, "--no-pin")
    assert r.code == 0, r.err
    shown = run("user", "list", "--config", config)
    assert shown.code == 0 and "alice" in shown.out


def test_user_add_refuses_a_name_the_directory_does_not_know(run: Runner, config: str) -> None:
    r = run("user", "add", "mallory", "--config", config, "--no-pin")
    assert r.code == 1
    assert r.one_line_error() == "otpgate: the directory has no user 'mallory'"


def test_invite_refuses_a_name_the_directory_does_not_know(run: Runner, config: str) -> None:
    assert run("user", "invite", "alice", "--config", config).code == 0
    r = run("user", "invite", "mallory", "--config", config)
    assert r.code == 1 and "the directory has no user 'mallory'" in r.err


def test_enrol_group_invites_the_members_without_a_token(run: Runner, config: str) -> None:
    assert run("user", "add", "alice", "--config", config, "--no-pin").code == 0
    r = run("directory", "enrol-group", "otp-users", "--config", config)
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    # bob and erin through the nested helpdesk group; alice has a token; carol is disabled.
    assert [row["login"] for row in rows] == ["bob", "erin"]
    assert rows[0]["mail"] == "bob@example.org" and rows[0]["display_name"] == "Bob Builder"
    assert all(row["link"].startswith("https://auth.example.org/enrol/") for row in rows)
    assert "invited 2 of 4 members" in r.err
    again = run(
        "directory", "enrol-group", f"cn=otp-users,ou=groups,{LDAP_BASE}", "--config", config
    )
    assert again.code == 0  # open invitations are no tokens: invited again (new links)


def test_find(run: Runner, config: str) -> None:
    assert run("user", "add", "alice", "--config", config, "--no-pin").code == 0
    r = run("directory", "find", "", "--config", config)
    assert r.code == 0
    lines = [line.split("\t") for line in r.out.splitlines()]
    assert [line[0] for line in lines] == ["alice", "bob", "carol", "dave", "erin"]
    assert lines[0][3] == "token" and lines[1][3] == "no token"


def test_config_check_says_what_it_found(run: Runner, config: str) -> None:
    r = run("config", "check", "--config", config)
    assert r.code == 0, r.err
    assert "finds 5 user(s) under dc=example,dc=org, e.g. alice, bob, carol" in r.err
    assert f"user_group cn=otp-users,ou=groups,{LDAP_BASE}: 4 member(s), 3 enabled" in r.err


def test_config_check_a_filter_that_finds_nobody(
    run: Runner, slapd: OwnSlapd, isolated: Path
) -> None:
    path = write_config(isolated, openldap(slapd, user_filter="(objectClass=nobody)"))
    assert run("init", "--store", f"sqlite:///{isolated}/otpgate.db").code == 0
    r = run("config", "check", "--config", str(path))
    assert r.code == 1 and "the user_filter finds nobody" in r.err


def test_config_check_a_wrong_service_password(
    run: Runner, slapd: OwnSlapd, isolated: Path
) -> None:
    settings = openldap(slapd)
    assert settings.bind_password_file
    Path(settings.bind_password_file).write_text("wrong\n")
    path = write_config(isolated, settings)
    assert run("init", "--store", f"sqlite:///{isolated}/otpgate.db").code == 0
    r = run("config", "check", "--config", str(path))
    assert r.code == 1 and "Invalid credentials" in r.err


def test_the_password_file_must_be_private(run: Runner, slapd: OwnSlapd, isolated: Path) -> None:
    settings = openldap(slapd)
    assert settings.bind_password_file
    os.chmod(settings.bind_password_file, 0o644)
    path = write_config(isolated, settings)
    assert run("init", "--store", f"sqlite:///{isolated}/otpgate.db").code == 0
    r = run("config", "check", "--config", str(path))
    assert r.code == 1 and "directory.bind_password_file" in r.err and "mode 0644" in r.err


def test_enrol_group_csv_holds_no_formula(run: Runner, config: str, slapd: OwnSlapd) -> None:
    from .test_login import admin

    conn = admin(slapd, LDAP_BASE)
    conn.modify_s(  # type: ignore[attr-defined]
        f"uid=bob,ou=people,{LDAP_BASE}",
        [(ldap.MOD_REPLACE, "displayName", [b'=HYPERLINK("https://evil.example","Bob")'])],
    )
    r = run("directory", "enrol-group", "otp-users", "--config", config)
    rows = {row["login"]: row for row in csv.DictReader(io.StringIO(r.out))}
    assert rows["bob"]["display_name"] == '\'=HYPERLINK("https://evil.example","Bob")'
    assert rows["erin"]["display_name"] == "Erin Brockovich"
