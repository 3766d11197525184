"""An administrator at work in a real browser (headless Chromium via Playwright).

Signs in, finds the locked user, unlocks them, invites a new user and resets
a user's token (each with a fresh code), and finds each action in the audit view.
No JavaScript is needed: the pages have none, and the CSP forbids it.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.audit.writer import AuditLog
from otpgate.login.authenticator import Authenticator
from otpgate.otp.algorithms import hotp
from otpgate.otp.tokens import TokenType
from otpgate.store.authenticators import OtpToken, TokenMeta
from otpgate.store.memory import MemoryStore
from otpgate.store.passkeys import Passkey
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.web import create_app

from .conftest import make_config
from .page_rules import PHONE, check_page, focus_ring, focused
from .servers import ROOT
from .test_browser import browser, shrink  # noqa: F401 -- the shared Chromium fixture

pytestmark = pytest.mark.slow

SHOTS = ROOT / "docs/img/admin"
ROOT_KEY = b"r" * 20
TOTP = TokenType("HOTP", 30, 6)
HOTP = TokenType("HOTP", 0, 6)


def _store() -> MemoryStore:
    store = MemoryStore()
    store.add(UserRecord("root", HOTP, ROOT_KEY, Pin("plain", "4321")))
    store.set_role("root", "admin")
    now = time.time()
    people = [
        "alice", "amir", "anna.schmidt", "ben", "bjorn", "carol", "chen.wei", "dmitri",
        "elena", "farah", "gustavo", "hana", "ivan", "jürgen", "kofi", "lena", "marta",
    ]  # fmt: skip
    for i, name in enumerate(people):
        state = UserState(
            failures=(i * 3) % 4,
            last_auth=None if i % 5 == 3 else now - i * 5400,
            last_ip=None if i % 5 == 3 else f"198.51.100.{10 + i}",
            locked_until=math.inf if name == "carol" else (now + 600 if name == "ivan" else None),
        )
        if name == "carol":
            state = UserState(
                failures=10, last_auth=now - 86400 * 3, last_ip="203.0.113.9", locked_until=math.inf
            )
        store.add(
            UserRecord(
                name,
                HOTP if i % 4 == 2 else TOTP,
                ROOT_KEY,
                Pin("plain", "1234"),
                state,
                serial=f"TK-{4000 + i}" if i % 3 == 0 else None,
            )
        )
    # amir also has a spare hardware token (issue 20).
    spare = OtpToken(HOTP, b"s" * 20, TokenMeta(name="Ersatz im Schrank"), serial="YK-0042")
    store.add_token("amir", spare)
    # carol also has a passkey, listed with her token (issue 20).
    cred = b"c" * 16
    store.add_passkey(
        Passkey("pk-carol", "carol", cred, b"\xa5" + cred, 7, ("usb",), "0" * 36,
                "YubiKey 5C", now - 86400 * 40, now - 86400 * 3)
    )  # fmt: skip
    return store


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gate, in this process, on a free loopback port; its base URL."""
    import uvicorn

    from procs import free_port

    tmp = tmp_path_factory.mktemp("admin")
    audit = AuditLog(str(tmp / "audit.log"))
    config = make_config(portal_url="")
    app = create_app(config, Authenticator(_store(), config.auth_settings(), audit=audit))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _shot(page: Any, name: str, tmp: Path, *, full: bool = True) -> None:
    """A screenshot; docs/img/admin/ is refreshed on request, so test runs leave the tree clean."""
    path = tmp / name
    page.screenshot(path=str(path), full_page=full)
    target = SHOTS / name
    if os.environ.get("OTPGATE_UPDATE_SCREENSHOT") or not target.exists():
        shutil.copyfile(path, target)
        shrink(target)


# Root signs in with an HOTP token: a code typed into a form is single use (issue 9,
# item 10), also in a new browser, and the tests share one gate; the next counter
# is always a fresh code, with no wait for a new time step.
_ROOT_COUNTER = itertools.count()


def _fresh_code() -> str:
    """A code of root's token that no test has used yet."""
    return hotp(ROOT_KEY, next(_ROOT_COUNTER))


def _sign_in(page: Any, site: str) -> str:
    """Sign in as root; the code used."""
    page.goto(f"{site}/admin")
    assert "/login?rd=%2Fadmin" in page.url
    # By id: the phone tests sign in in German.
    page.locator("#username").fill("root")
    page.locator("#pin").fill("4321")
    used = _fresh_code()
    page.locator("#code").fill(used)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{site}/admin")
    return used


def test_an_administrator_unlocks_invites_resets_and_audits(
    browser: Any,  # noqa: F811
    site: str,
    tmp_path: Path,
) -> None:
    context = browser.new_context(
        viewport={"width": 1100, "height": 760}, locale="en-US", java_script_enabled=False
    )
    try:
        page = context.new_page()
        used = _sign_in(page, site)
        assert page.get_by_role("heading", name="Users").is_visible()
        _shot(page, "users.png", tmp_path)

        # Find the locked user with the filter, open their page, unlock them.
        page.get_by_label("State").select_option("locked")
        page.get_by_role("button", name="Search").click()
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        page.get_by_role("link", name="carol").click()
        assert page.get_by_text("locked", exact=True).is_visible()
        page.get_by_role("button", name="Unlock").click()
        assert page.get_by_role("status").inner_text() == "Unlocked."
        assert page.get_by_role("button", name="Lock").is_visible()

        # Invite a new user (a fresh code, as for a reset): the link is shown once.
        page.get_by_role("link", name="Invite a user").click()
        page.get_by_label("User name").fill("nadia")
        page.get_by_label("Your PIN").fill("4321")
        used = _fresh_code()
        page.get_by_label("Your one-time code").fill(used)
        page.get_by_role("button", name="Make the link").click()
        link = page.locator("#link").inner_text()
        assert f"{site}/enrol/" in link

        # Reset alice's token: a destructive action asks for a fresh code.
        page.goto(f"{site}/admin/users/alice")
        page.get_by_role("link", name="Reset (new token)").click()
        page.get_by_label("Your PIN").fill("4321")
        page.get_by_label("Your one-time code").fill(used)  # used: refused
        page.get_by_role("button", name="Reset the token").click()
        assert "already" in page.get_by_role("alert").inner_text()
        _shot(page, "step-up.png", tmp_path)
        page.get_by_label("Your PIN").fill("4321")
        page.get_by_label("Your one-time code").fill(_fresh_code())
        page.get_by_role("button", name="Reset the token").click()
        assert "/enrol/" in page.locator("#link").inner_text()

        # Each action is in the audit view.
        page.get_by_role("link", name="Audit log").click()
        page.get_by_label("Event").select_option("admin")
        page.get_by_role("button", name="Search").click()
        table = page.locator("tbody").inner_text()
        for action, user in (
            ("User unlocked", "carol"),
            ("Invited", "nadia"),
            ("Reset link made", "alice"),
        ):
            row = page.locator("tbody tr", has_text=action).filter(has_text=user)
            assert row.count() == 1, table
            assert "root (browser)" in row.inner_text()
        assert link.rsplit("/", 1)[1] not in page.content()
        _shot(page, "audit.png", tmp_path)
        page.goto(f"{site}/admin/users/carol")
        _shot(page, "user.png", tmp_path)
        page.goto(f"{site}/admin/status")
        _shot(page, "status.png", tmp_path)
    finally:
        context.close()


def test_an_administrator_removes_a_spare_token_after_a_step_up(
    browser: Any,  # noqa: F811
    site: str,
) -> None:
    """Issue 20: the user page lists the authenticators; one goes after PIN + a fresh code."""
    context = browser.new_context(
        viewport={"width": 1100, "height": 760}, locale="en-US", java_script_enabled=False
    )
    try:
        page = context.new_page()
        _sign_in(page, site)
        page.goto(f"{site}/admin/users/amir")
        table = page.get_by_role("table", name="Authenticators")
        assert table.locator("tbody tr").count() == 2
        assert "YK-0042" in table.inner_text()
        page.get_by_role("link", name="Remove Ersatz im Schrank").click()
        assert page.get_by_role("heading", name="Remove an authenticator").is_visible()
        page.get_by_label("Your PIN").fill("4321")
        page.get_by_label("Your one-time code").fill(_fresh_code())
        page.get_by_role("button", name="Remove an authenticator").click()
        status = page.get_by_role("status").inner_text()
        assert status == "Authenticator removed. It no longer signs in."
        table = page.get_by_role("table", name="Authenticators")
        assert table.locator("tbody tr").count() == 1 and "YK-0042" not in table.inner_text()
        assert page.get_by_role("link", name="Remove Ersatz im Schrank").count() == 0
        check_page(page)
        # A passkey is listed with the tokens (carol's).
        page.goto(f"{site}/admin/users/carol")
        listed = page.get_by_role("table", name="Authenticators").inner_text()
        assert "YubiKey 5C" in listed and "Passkey" in listed
    finally:
        context.close()


@pytest.mark.parametrize(("scheme", "name"), [("light", "phone.png"), ("dark", "phone-dark.png")])
def test_the_list_on_a_phone_light_and_dark(
    browser: Any,  # noqa: F811
    site: str,
    tmp_path: Path,
    scheme: str,
    name: str,
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=1,
        locale="de-DE",
        color_scheme=scheme,
        java_script_enabled=False,
    )
    try:
        page = context.new_page()
        _sign_in(page, site)
        assert page.get_by_role("heading", name="Benutzer", exact=True).is_visible()
        # Nothing wider than the screen: the table turns into cards.
        box = page.locator("table").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        _shot(page, name, tmp_path, full=False)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_admin_page_fits_a_phone_and_titles_its_errors(
    browser: Any,  # noqa: F811
    site: str,
    lang: str,
) -> None:
    """Item 10 and 13 of issue 18: 390 px, no sideways scrolling; "Error:" iff an alert."""
    context = browser.new_context(
        viewport={"width": PHONE, "height": 844},
        locale="de-DE" if lang == "de" else "en-US",
        extra_http_headers={"Accept-Language": lang},
        java_script_enabled=False,
    )
    try:
        page = context.new_page()
        _sign_in(page, site)
        pages = [
            "admin",
            "admin?state=invited",
            "admin?state=nonsense",
            "admin/users/carol",
            "admin/users/nobody",
            "admin/invite",
            "admin/audit",
            "admin/audit?since=yesterday",
            "admin/status",
            *(f"admin/users/alice/{a}" for a in ("resync", "reset", "recovery-codes", "role")),
            "admin/users/alice/remove",
            "admin/users/amir",
            "admin/users/amir/remove-token",
        ]
        for path in pages:
            page.goto(f"{site}/{path}")
            check_page(page, lang)
        # A refused form, a made link and a refused step-up.
        page.goto(f"{site}/admin/invite")
        page.locator("#username").fill("no spaces allowed")
        page.locator("#pin").fill("4321")
        used = _fresh_code()  # the step-up (issue 17, item 4); a bad name spends no code
        page.locator("#code").fill(used)
        page.locator("button[type=submit]").last.click()
        assert page.get_by_role("alert").count() == 1
        check_page(page, lang)
        page.locator("#username").fill(f"pia.{lang}")
        page.locator("#pin").fill("4321")
        page.locator("#code").fill(used)
        page.locator("button[type=submit]").last.click()
        assert "/enrol/" in page.locator("#link").inner_text()
        check_page(page, lang)
        page.goto(f"{site}/admin/users/alice/resync")
        page.locator("#code1").fill("000000")
        page.locator("#code2").fill("000001")
        page.locator("button[type=submit]").last.click()
        assert page.get_by_role("alert").count() == 1
        check_page(page, lang)
    finally:
        context.close()


def test_a_skip_link_and_focus_rings_in_the_admin_pages(
    browser: Any,  # noqa: F811
    site: str,
) -> None:
    """Item 13 of issue 18: the first Tab reaches "Skip to the content"; links show 3 px rings."""
    context = browser.new_context(
        viewport={"width": 1100, "height": 760}, locale="en-US", java_script_enabled=False
    )
    try:
        page = context.new_page()
        _sign_in(page, site)
        page.keyboard.press("Tab")
        skip = focused(page)
        assert (skip["tag"], skip["text"], skip["href"]) == ("A", "Skip to the content", "#content")
        assert focus_ring(page) == ("3px", "solid")
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "content"
        page.keyboard.press("Tab")
        assert focused(page)["id"] == "q"  # the first field of the content, past the menu
        # A link of the menu: the same ring as a field.
        page.locator("nav.top a", has_text="Audit log").focus()
        assert focus_ring(page) == ("3px", "solid")
        page.locator("#q").focus()
        assert focus_ring(page) == ("3px", "solid")
        # Signing out is one click (a POST from the menu), in this browser only.
        page.get_by_role("button", name="Sign out").click()
        assert page.get_by_role("status").inner_text() == "You have signed out."
        page.goto(f"{site}/admin")
        assert "/login?rd=%2Fadmin" in page.url
    finally:
        context.close()
