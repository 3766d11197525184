"""The admin pages with a [directory]: administrators are the members of admin_group."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import ldap
import pytest

from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import SelfService
from otpgate.config.auth import AuthSettings
from otpgate.login.authenticator import Authenticator
from otpgate.login.directory import with_directory
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.tokens import TokenType
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from otpgate.web import create_app
from slapd_proc import LDAP_BASE, PASSWORDS, OwnSlapd
from web.conftest import KEY, PROXY, Clock, code, csrf_token, make_config

from .gate import openldap
from .test_login import admin as directory_admin

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.slapd

TOTP = TokenType("HOTP", 30, 6)


class Pages:
    def __init__(self, slapd: OwnSlapd, pin: str = "own") -> None:
        self.clock = Clock()
        settings = openldap(slapd, pin=pin)
        store, checker, rules = with_directory(MemoryStore(), settings, AuthSettings(), None)
        self.store: Any = store
        for name in ("alice", "bob"):
            store.add(UserRecord(name, TOTP, KEY, Pin("plain", "4711")))
        auth = Authenticator(store, rules, pin_checker=checker, clock=self.clock)
        self.auth = auth
        self.app = create_app(make_config(), auth)
        self.client = TestClient(self.app, client=PROXY, follow_redirects=False)

    def sign_in(self, user: str) -> None:
        self.client.cookies.clear()
        self.clock.advance(30)
        page = self.client.get("/login")
        data = {"username": user, "pin": "4711", "code": code(self.clock, KEY)}
        r = self.client.post("/login", data={**data, "csrf": csrf_token(page.text)})
        assert r.status_code == 303, r.text


@pytest.fixture
def pages(slapd: OwnSlapd) -> Iterator[Pages]:
    p = Pages(slapd)
    yield p
    p.client.close()


def test_members_of_the_admin_group_are_administrators(pages: Pages, slapd: OwnSlapd) -> None:
    pages.sign_in("alice")
    listing = pages.client.get("/admin")
    assert listing.status_code == 200
    assert "alice" in listing.text and "bob" in listing.text  # the store's users, by name
    pages.sign_in("bob")
    assert pages.client.get("/admin").status_code == 403


def test_leaving_the_admin_group_ends_the_rights(pages: Pages, slapd: OwnSlapd) -> None:
    pages.sign_in("alice")
    assert pages.client.get("/admin").status_code == 200
    conn = directory_admin(slapd, LDAP_BASE)
    conn.modify_s(  # type: ignore[attr-defined]
        f"cn=otp-admins,ou=groups,{LDAP_BASE}",
        [(ldap.MOD_REPLACE, "member", [f"uid=bob,ou=people,{LDAP_BASE}".encode()])],
    )
    assert pages.client.get("/admin").status_code == 403  # cache_ttl = 0 in these tests


def test_an_invitation_only_for_a_name_the_directory_knows(pages: Pages) -> None:
    pages.sign_in("alice")

    def invite(name: str) -> object:
        pages.clock.advance(30)
        form = pages.client.get("/admin/invite")
        data = {"username": name, "pin": "4711", "code": code(pages.clock, KEY)}
        return pages.client.post("/admin/invite", data={**data, "csrf": csrf_token(form.text)})

    refused = invite("mallory")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "The directory has no user of that name." in refused.text  # type: ignore[attr-defined]
    made = invite("erin")
    assert made.status_code == 200 and "/enrol/" in made.text  # type: ignore[attr-defined]


def test_enrolment_asks_no_pin_when_the_directory_password_is_the_pin(slapd: OwnSlapd) -> None:
    pages = Pages(slapd, pin="directory")
    service = SelfService(pages.store, policy=PinPolicy(), hasher=FAST_TEST_HASHER)
    link = service.invite("erin", TOTP, expires_in=3600, reset=False, now=pages.clock())
    first = pages.client.get(f"/enrol/{link}")
    assert first.status_code == 303  # no PIN page: straight to the token
    scan = pages.client.get(f"/enrol/{link}")
    assert scan.status_code == 200 and 'name="step" value="confirm"' in scan.text
    [pending] = [i for i in pages.store.list_invitations() if i.status == "pending"]
    assert pending.pending_key is not None and pending.pending_pin == Pin("none")
    done = pages.client.post(
        f"/enrol/{link}",
        data={
            "step": "confirm",
            "code": code(pages.clock, pending.pending_key),
            "csrf": csrf_token(scan.text),
        },
    )
    assert done.status_code == 200, done.text
    pages.clock.advance(30)
    password = PASSWORDS["erin"] + code(pages.clock, pending.pending_key)
    assert pages.auth.login(pages.auth.attempt("erin", password, "192.0.2.1")).ok
    pages.client.close()


def test_the_invite_form_offers_directory_users_without_a_token(pages: Pages) -> None:
    pages.sign_in("alice")
    form = pages.client.get("/admin/invite").text
    listed = form.split('<datalist id="directory-users">')[1].split("</datalist>")[0]
    offered = re.findall(r'<option value="([^"]+)">', listed)
    # alice and bob have tokens, carol is disabled, dave is not in the user group.
    assert offered == ["erin"]
    assert '<option value="erin">Erin Brockovich</option>' in form
