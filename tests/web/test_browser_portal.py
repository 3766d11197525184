"""The self-service journey in a real browser, through nginx, with screenshots.

invite -> open the link -> choose a PIN -> read the otpauth URI from the page
-> confirm -> sign in through nginx -> the application -> account page ->
change PIN -> sign out -> lost token -> recovery code -> new token -> sign in.

Each page is photographed on a desktop and a phone viewport, in light and
dark mode; the pictures in docs/img/portal/ are refreshed when
OTPGATE_UPDATE_SCREENSHOT is set (or missing), so test runs leave the tree clean.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.cli import main
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_uri
from procs import serving

from .page_rules import PHONE, check_page, focus_ring
from .servers import NGINX_USERS, ROOT, SECRET, make_store, run_nginx
from .test_browser import browser, shrink  # noqa: F401 -- the fixture

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

SHOTS = ROOT / "docs/img/portal"
VIEWPORTS = {"desktop": (960, 720), "phone": (PHONE, 760)}
PIN1, PIN2 = "walnut-73", "maple-2891"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from conftest import require_tool

    nginx = require_tool("nginx")
    directory = tmp_path_factory.mktemp("portal")
    url, key_file = make_store(directory, NGINX_USERS)
    config = directory / "otpgate.toml"
    config.write_text(
        f"""
[store]
url = "{url}"
key_file = "{key_file}"

[auth]
audit_log = "{directory / "audit.log"}"
window = 3  # the journey uses one key's codes a few steps apart, in real time

[web]
portal_url = "/otpgate"
session_secrets = ["{SECRET}"]
cookie_secure = false
title = "Example Corp"
"""
    )
    with serving(config, directory) as gate_port, run_nginx(nginx, directory, gate_port) as port:
        yield f"http://127.0.0.1:{port}", config


def invite(config: Path, base: str, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["user", "invite", *args, "--config", str(config), "--url", base]) == 0
    return out.getvalue().strip().splitlines()[-1]


class Camera:
    """Screenshots of every page in four variants; copied to docs/ on request."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.taken: list[str] = []
        self.update = bool(os.environ.get("OTPGATE_UPDATE_SCREENSHOT")) or not SHOTS.exists()

    def shoot(self, page: Any, name: str) -> None:
        """Four pictures; each size also keeps the page rules (no sideways scrolling, ...)."""
        for view, (w, h) in VIEWPORTS.items():
            page.set_viewport_size({"width": w, "height": h})
            check_page(page)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                file = f"{len(self.taken) // 4 + 1:02d}-{name}-{view}-{scheme}.png"
                page.screenshot(path=str(self.tmp / file), full_page=True)
                self.taken.append(file)
        page.set_viewport_size({"width": 960, "height": 720})
        page.emulate_media(color_scheme="light")

    def publish(self) -> None:
        if not self.update:
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        for file in self.taken:
            shutil.copyfile(self.tmp / file, SHOTS / file)
        shrink(*SHOTS.glob("*.png"))


def code_for(key: bytes, steps_ahead: int = 0) -> str:
    return totp(key, time.time() + 30 * steps_ahead)


def enrol(
    page: Any, link: str, pin: str, cam: Camera | None, prefix: str
) -> tuple[bytes, list[str]]:
    """Open the link, choose a PIN, read the URI, confirm; the key and the recovery codes."""
    page.goto(link)
    assert page.get_by_role("heading", name="Set up your sign-in").is_visible()
    if cam:
        cam.shoot(page, f"{prefix}-choose-pin")
    page.get_by_label("New PIN", exact=True).fill("123456")
    page.get_by_label("New PIN again").fill("123457")
    page.get_by_role("button", name="Continue").click()
    # The policy's messages are tied to the fields (aria-describedby) and read out.
    pin_field = page.get_by_label("New PIN", exact=True)
    assert pin_field.get_attribute("aria-invalid") == "true"
    assert "a run such as 123456" in page.locator("#pin-error").inner_text()
    alerts = page.get_by_role("alert").all_inner_texts()
    assert any("The two PINs differ." in a for a in alerts), alerts
    assert page.title().startswith("Error: ")
    if cam:
        cam.shoot(page, f"{prefix}-pin-refused")
    page.get_by_label("New PIN", exact=True).fill(pin)
    page.get_by_label("New PIN again").fill(pin)
    page.get_by_role("button", name="Continue").click()
    return scan_and_confirm(page, cam, prefix)


def scan_and_confirm(page: Any, cam: Camera | None, prefix: str) -> tuple[bytes, list[str]]:
    """The scan step: read the URI, a wrong code, the right one; the key and recovery codes."""
    assert page.get_by_role("heading", name="Add the token to your app").is_visible()
    assert page.get_by_role("img", name="QR code of the new token").is_visible()
    if cam:
        cam.shoot(page, f"{prefix}-scan")
    key = parse_uri(page.locator("#uri").inner_text()).key
    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_label("Code from the app").get_attribute("aria-invalid") == "true"
    check_page(page)
    page.get_by_label("Code from the app").fill(code_for(key))
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    codes = page.locator("ol.codes li").all_inner_texts()
    assert len(codes) == 10
    if cam:
        cam.shoot(page, f"{prefix}-recovery-codes")
    return key, codes


def sign_in(page: Any, user: str, pin: str, code: str, lang: str = "en") -> None:
    page.locator("#username").fill(user)
    page.locator("#pin").fill(pin)
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Anmelden" if lang == "de" else "Sign in").click()


def test_the_self_service_journey(
    browser: Any,  # noqa: F811 -- the imported fixture
    site: tuple[str, Path],
    tmp_path: Path,
) -> None:
    base, config = site
    cam = Camera(tmp_path)
    link = invite(config, f"{base}/otpgate", "dora")
    assert re.fullmatch(rf"{re.escape(base)}/otpgate/enrol/[A-Za-z0-9_-]{{43}}", link)
    context = browser.new_context(locale="en-US", viewport={"width": 960, "height": 720})
    try:
        page = context.new_page()
        key, codes = enrol(page, link, PIN1, cam, "enrol")
        # The link is spent.
        page.goto(link)
        assert "already been used" in page.get_by_role("alert").inner_text()

        # Sign in through nginx: the application, then the account page.
        page.goto(f"{base}/app/tickets")
        assert "/otpgate/login?rd=%2Fapp%2Ftickets" in page.url
        cam.shoot(page, "login")
        sign_in(page, "dora", PIN1, code_for(key, 1))
        page.wait_for_url(f"{base}/app/tickets")
        assert page.locator("h1").inner_text() == "Hello dora"

        page.goto(f"{base}/otpgate/account")
        assert page.get_by_role("heading", name="Your account").is_visible()
        assert page.get_by_role("cell", name="one-time code").first.is_visible()
        assert " UTC" in page.locator("dl.facts").inner_text()
        tokens = page.get_by_role("table", name="Your authenticators").inner_text()
        assert "TOTP: a new code every 30 seconds" in tokens
        assert "Recovery codes left: 10." in page.locator("main").inner_text()
        cam.shoot(page, "account")
        page.locator("#cp-pin").fill(PIN1)
        page.locator("#cp-code").fill(code_for(key, 2))
        page.locator("#cp-new").fill(PIN2)
        page.locator("#cp-new2").fill(PIN2)
        page.get_by_role("button", name="Change PIN").click()
        assert page.get_by_role("status").inner_text() == "Your PIN has been changed."
        cam.shoot(page, "pin-changed")

        # Sign out everywhere (beside "Sign out": this browser only).
        assert page.get_by_role("button", name="Sign out", exact=True).is_visible()
        page.get_by_role("button", name="Sign out everywhere").click()
        assert page.get_by_role("status").inner_text() == "You have signed out."
        cam.shoot(page, "signed-out")
        page.goto(f"{base}/app/tickets")
        assert "/otpgate/login" in page.url

        # Lost the phone?  A current code of the app says it is not lost, and where to go.
        page.get_by_role("link", name="Lost your phone or token?").focus()
        assert focus_ring(page) == ("3px", "solid")  # links are ringed like fields
        page.get_by_role("link", name="Lost your phone or token?").click()
        cam.shoot(page, "lost")
        page.get_by_label("User name").fill("dora")
        page.get_by_label("PIN").fill(PIN2)
        page.get_by_label("Recovery code").fill(code_for(key, 3))
        page.get_by_role("button", name="Continue").click()
        assert page.get_by_role("heading", name="Your token still works").is_visible()
        cam.shoot(page, "lost-token-works")
        page.go_back()

        # Lost for real: a recovery code and the PIN; the PIN is kept with one click.
        page.get_by_label("User name").fill("dora")
        page.get_by_label("PIN").fill(PIN2)
        page.get_by_label("Recovery code").fill(codes[0].lower())
        page.get_by_role("button", name="Continue").click()
        assert "/otpgate/enrol/" in page.url
        assert page.get_by_role("button", name="Keep my current PIN").is_visible()
        cam.shoot(page, "reset-keep-pin")
        page.get_by_role("button", name="Keep my current PIN").click()
        new_key, _ = scan_and_confirm(page, None, "reset")
        assert new_key != key
        page.get_by_role("link", name="Continue to sign in").click()
        sign_in(page, "dora", PIN2, code_for(key, 4))  # the old token: refused
        assert page.get_by_role("alert").inner_text() == "Wrong user name, PIN or code."
        check_page(page)
        page.get_by_label("PIN").fill(PIN2)
        page.get_by_label("One-time code").fill(code_for(new_key, 1))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        assert page.locator("h1").inner_text() == "Hello dora"
    finally:
        context.close()
    audit = (config.parent / "audit.log").read_text()
    for event in ("invited", "enrolled", "session_created", "pin_changed", "token_replaced"):
        assert f'"reason":"{event}"' in audit
    assert '"reason":"recovery"' in audit and PIN1 not in audit and key.hex() not in audit
    cam.publish()


def test_the_portal_in_german_by_keyboard_on_a_phone(
    browser: Any,  # noqa: F811
    site: tuple[str, Path],
) -> None:
    """German, 390 px wide, keyboard only; every page keeps the page rules."""
    base, config = site
    link = invite(config, f"{base}/otpgate", "kai")
    context = browser.new_context(
        locale="de-DE",
        extra_http_headers={"Accept-Language": "de"},
        viewport={"width": PHONE, "height": 760},
    )
    try:
        page = context.new_page()
        page.goto(link)
        assert page.get_by_role("heading", name="Anmeldung einrichten").is_visible()
        check_page(page, "de")
        # Keyboard only: the first field has the focus, Tab moves on, Enter submits.
        page.keyboard.type(PIN1)
        page.keyboard.press("Tab")
        page.keyboard.type(PIN2)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        # Two different PINs: an alert, "Fehler:" in the title, the focus on the second field.
        assert "Die beiden PINs stimmen nicht überein." in page.get_by_role("alert").inner_text()
        check_page(page, "de")
        assert page.evaluate("document.activeElement.id") == "pin2"
        page.keyboard.press("Shift+Tab")
        page.keyboard.type(PIN1)
        page.keyboard.press("Tab")
        page.keyboard.type(PIN1)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", name="Token in der App hinzufügen").is_visible()
        check_page(page, "de")
        key = parse_uri(page.locator("#uri").inner_text()).key
        page.keyboard.type(code_for(key))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", name="Ihre Wiederherstellungscodes").is_visible()
        check_page(page, "de")
        page.goto(f"{base}/otpgate/login?rd=%2Fotpgate%2Faccount")
        check_page(page, "de")
        sign_in(page, "kai", PIN1, code_for(key, 1), "de")
        page.wait_for_url(f"{base}/otpgate/account")
        assert "TOTP: alle 30 Sekunden ein neuer Code" in page.locator("main").inner_text()
        check_page(page, "de")
        for path in ("lost", "logout", ""):
            page.goto(f"{base}/otpgate/{path}")
            check_page(page, "de")
        page.get_by_role("button", name="Abmelden", exact=True).click()
        assert page.get_by_role("status").inner_text() == "Sie haben sich abgemeldet."
        check_page(page, "de")
    finally:
        context.close()


def confirm_new_app(page: Any) -> bytes:
    """The new app's key read from its page, kept by a code from it; the key."""
    key = parse_uri(page.locator("#uri").inner_text()).key
    page.get_by_label("Code from the new app", exact=True).fill(code_for(key))
    page.get_by_role("button", name="Confirm and add the app").click()
    assert "The new app has been added." in page.get_by_role("status").inner_text()
    return key


def test_a_second_app_added_and_the_first_removed_on_the_account_page(
    browser: Any,  # noqa: F811
    site: tuple[str, Path],
) -> None:
    """Issue 20: the account page lists the authenticators, adds an app after PIN + a
    code, and removes one (here the first) after PIN + a code of the other; no JS."""
    base, config = site
    link = invite(config, f"{base}/otpgate", "erik")
    context = browser.new_context(
        locale="en-US", viewport={"width": PHONE, "height": 760}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        key, _ = enrol(page, link, PIN1, None, "tokens")
        page.goto(f"{base}/otpgate/login?rd=%2Fotpgate%2Faccount")
        sign_in(page, "erik", PIN1, code_for(key, 1))
        page.wait_for_url(f"{base}/otpgate/account")
        table = page.get_by_role("table", name="Your authenticators")
        assert table.locator("tbody tr").count() == 1
        check_page(page)
        # One authenticator: no remove form.
        assert page.get_by_role("heading", name="Remove an authenticator").count() == 0

        page.get_by_label("Name of the new app").fill("Tablet")
        page.locator("#ta-pin").fill(PIN1)
        page.locator("#ta-code").fill(code_for(key, 2))
        page.get_by_role("button", name="Add app").click()
        assert page.get_by_role("heading", name="Add the token to your app").is_visible()
        assert page.get_by_role("img", name="QR code of the new token").is_visible()
        check_page(page)
        tablet = confirm_new_app(page)
        rows = page.get_by_role("table", name="Your authenticators").locator("tbody tr")
        assert rows.count() == 2 and "Tablet" in rows.nth(1).inner_text()
        check_page(page)

        # The first one goes, confirmed with the tablet's code; this browser stays in.
        page.get_by_label("Authenticator", exact=True).select_option(label="token (TOTP)")
        page.locator("#tr-pin").fill(PIN1)
        page.locator("#tr-code").fill(code_for(tablet, 1))  # the next one: fresh
        page.get_by_role("button", name="Remove", exact=True).click()
        assert "it no longer signs you in" in page.get_by_role("status").inner_text()
        rows = page.get_by_role("table", name="Your authenticators").locator("tbody tr")
        assert rows.count() == 1 and "Tablet" in rows.first.inner_text()
        check_page(page)
        page.goto(f"{base}/otpgate/account")
        assert page.get_by_role("heading", name="Your account").is_visible()
    finally:
        context.close()
    audit = (config.parent / "audit.log").read_text()
    assert '"reason":"token_added"' in audit and '"reason":"token_removed"' in audit
    assert tablet.hex() not in audit
