"""Passkeys in Debian's Chromium with a CDP virtual authenticator (ctap2, internal, resident
keys, user verification): enrol from an invitation, sign in with user name + PIN + passkey
and with the passkey alone; a passkey step-up on /account adds an app, confirmed by a code
from it; another browser profile is refused; a cloned credential (its counter gone back)
is refused and audited; conditional mediation (the passkey offered in the user name's
autofill) signs in, and the button still works while it waits.  Screenshots go to the
test's temporary folder.

The virtual authenticator answers a conditional request at once (a person would pick the
passkey from the autofill list), so the profiles that test the buttons say conditional
mediation is not available (:func:`buttons_only`), as a browser without it does.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from otpgate.cli import main
from otpgate.otp.algorithms import totp
from otpgate.otp.keys import decode_key
from procs import free_port, serving

from .page_rules import PHONE, check_page
from .servers import NGINX_USERS, ROOT, SECRET, make_store
from .test_browser import browser, shrink  # noqa: F401 -- the fixture

pytestmark = [pytest.mark.slow]

PIN = "walnut-73"
SHOTS: list[Path] = []
DOCS = ROOT / "docs/img/passkeys"
UPDATE = bool(os.environ.get("OTPGATE_UPDATE_SCREENSHOT")) or not DOCS.exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """``otpgate serve`` on http://localhost:PORT with passkeys for RP ID localhost."""
    directory = tmp_path_factory.mktemp("passkeys")
    url, key_file = make_store(directory, NGINX_USERS)
    port = free_port()
    base = f"http://localhost:{port}"
    config = directory / "otpgate.toml"
    audit = directory / "audit.log"
    config.write_text(
        f"""
[store]
url = "{url}"
key_file = "{key_file}"

[auth]
audit_log = "{audit}"

[web]
session_secrets = ["{SECRET}"]
cookie_secure = false
title = "Example Corp"
webauthn_rp_id = "localhost"
webauthn_origins = ["{base}"]
"""
    )
    with serving(config, directory, port=port):
        yield base, config, audit


def invite(config: Path, base: str, user: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["user", "invite", user, "--config", str(config), "--url", base]) == 0
    return out.getvalue().strip().splitlines()[-1]


def authenticator(context: Any, page: Any) -> tuple[Any, str]:
    """A virtual platform authenticator for ``page``: (CDP session, its id)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    made = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, made["authenticatorId"]


def buttons_only(context: Any) -> Any:
    """``context``'s pages say conditional mediation is not available (the buttons only)."""
    context.add_init_script(
        "if (window.PublicKeyCredential) {"
        " PublicKeyCredential.isConditionalMediationAvailable ="
        " function () { return Promise.resolve(false); }; }"
    )
    return context


def shoot(page: Any, tmp: Path, name: str) -> None:
    """A screenshot, after the page rules (no sideways scrolling, "Error:" iff an alert).

    Copied to docs/img/passkeys/ when OTPGATE_UPDATE_SCREENSHOT is set (or none are
    there), so test runs leave the tree clean.
    """
    for width in (PHONE, 800):
        page.set_viewport_size({"width": width, "height": 900})
        check_page(page)
    path = tmp / f"{len(SHOTS) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.append(path)
    if UPDATE:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")
        shrink(DOCS / f"{name}.png")


def signed_in_as(page: Any, base: str) -> str | None:
    page.goto(f"{base}/account")
    if "/login" in page.url:
        return None
    return str(page.locator("p.sub strong").inner_text())


def discover(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_role("button", name="Sign in with a passkey").click()


def audit_lines(audit: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def enrol(page: Any, link: str, tmp_path: Path) -> None:
    """Enrol from the invitation with a passkey instead of an app."""
    page.goto(link)
    page.get_by_label("New PIN", exact=True).fill(PIN)
    page.get_by_label("New PIN again").fill(PIN)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Register a passkey")).to_be_enabled()
    expect(page.get_by_text("Passkeys need JavaScript").first).to_be_hidden()
    shoot(page, tmp_path, "enrol-choice")
    page.get_by_label("Name of the new passkey").fill("Test laptop")
    page.get_by_role("button", name="Register a passkey").click()
    page.get_by_text("Your passkey is registered.").wait_for()
    shoot(page, tmp_path, "enrolled")


def with_pin(page: Any, base: str, pin: str) -> None:
    """Sign in with user name, PIN and the passkey."""
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill("paula")
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Sign in with PIN and passkey").click()


def other_profile(chromium: Any, base: str, tmp_path: Path) -> Any:
    """Another browser profile has no such passkey: refused, nothing signed in."""
    second = buttons_only(chromium.new_context(locale="en-US"))
    other = second.new_page()
    authenticator(second, other)
    discover(other, base)
    status = other.locator("[data-passkey-status]").last
    status.wait_for(state="visible")
    assert "did not answer" in status.inner_text()
    shoot(other, tmp_path, "other-profile")
    assert signed_in_as(other, base) is None
    return second


def clone_refused(chromium: Any, base: str, cred: dict[str, Any], tmp_path: Path) -> Any:
    """The same key in a third profile, its counter behind the original's: refused."""
    third = buttons_only(chromium.new_context(locale="en-US"))
    cloned = third.new_page()
    ccdp, cid = authenticator(third, cloned)
    clone = {**cred, "signCount": 0}
    ccdp.send("WebAuthn.addCredential", {"authenticatorId": cid, "credential": clone})
    discover(cloned, base)
    cloned.wait_for_url(f"{base}/passkey")
    assert cloned.get_by_role("alert").first.inner_text() == (
        "The passkey, user name or PIN was not accepted."
    )
    # The form shown again at /passkey has its script and links (relative ones) working.
    expect(cloned.get_by_role("button", name="Sign in with a passkey")).to_be_enabled()
    expect(cloned.get_by_text("Passkeys need JavaScript").first).to_be_hidden()
    shoot(cloned, tmp_path, "clone-refused")
    assert signed_in_as(cloned, base) is None
    return third


def alone(context: Any, page: Any, base: str) -> None:
    """Signed out, then in with the passkey alone."""
    context.clear_cookies()
    discover(page, base)
    page.wait_for_url(f"{base}/")
    assert signed_in_as(page, base) == "paula"


def app_by_step_up(page: Any, base: str, tmp_path: Path) -> None:
    """A passkey-only user adds an app: PIN + passkey, then a code from the new app."""
    page.goto(f"{base}/account")
    form = page.locator("form", has=page.locator('input[value="token_add"]'))
    form.get_by_label("Name of the new app").fill("Phone")
    form.locator("#ta-pin").fill(PIN)
    form.get_by_role("button", name="Confirm with PIN and passkey").click()
    page.get_by_role("heading", name="Confirm with a code from the new app").wait_for()
    shoot(page, tmp_path, "add-app-confirm")
    key = decode_key(page.locator("#key").inner_text().replace(" ", ""), "base32")
    page.get_by_label("Code from the new app", exact=True).fill("000000")
    page.get_by_role("button", name="Confirm and add the app").click()
    expect(page.locator("#tc-code-error")).to_contain_text("not a current code")
    shoot(page, tmp_path, "add-app-wrong-code")
    page.get_by_label("Code from the new app", exact=True).fill(totp(key, time.time()))
    page.get_by_role("button", name="Confirm and add the app").click()
    expect(page.get_by_role("status").first).to_contain_text("The new app has been added.")
    rows = page.get_by_role("table", name="Your authenticators").locator("tbody tr")
    assert rows.count() == 2 and "Phone" in rows.nth(1).inner_text()
    shoot(page, tmp_path, "account-app-added")


def autofill(chromium: Any, base: str, cred: dict[str, Any]) -> Any:
    """Conditional mediation: the button works while a conditional request waits (it is
    aborted first); with the passkey there, the autofill request itself signs in."""
    fourth = chromium.new_context(locale="en-US")
    page = fourth.new_page()
    cdp, auth_id = authenticator(fourth, page)
    with page.expect_request(f"{base}/passkey/options"):
        page.goto(f"{base}/login")  # the conditional request starts, and waits: no passkey
    field = page.get_by_label("User name")
    assert field.get_attribute("autocomplete") == "username webauthn"
    copy = {**cred, "signCount": cred["signCount"] + 100}
    cdp.send("WebAuthn.addCredential", {"authenticatorId": auth_id, "credential": copy})
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{base}/")
    assert signed_in_as(page, base) == "paula"
    fourth.clear_cookies()
    page.goto(f"{base}/login")  # the autofill's request answers by itself
    page.wait_for_url(f"{base}/")
    assert signed_in_as(page, base) == "paula"
    return fourth


def test_passkeys_in_chromium(
    browser: Any,  # noqa: F811
    site: tuple[str, Path, Path],
    tmp_path: Path,
) -> None:
    base, config, audit = site
    first = buttons_only(
        browser.new_context(viewport={"width": 800, "height": 900}, locale="en-US")
    )
    page = first.new_page()
    cdp, auth_id = authenticator(first, page)
    enrol(page, invite(config, base, "paula"), tmp_path)
    (cred,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]
    assert cred["isResidentCredential"] and cred["rpId"] == "localhost"

    # User name + PIN + passkey.
    page.goto(f"{base}/login")
    shoot(page, tmp_path, "login")
    with_pin(page, base, PIN)
    page.wait_for_url(f"{base}/")
    assert signed_in_as(page, base) == "paula"
    shoot(page, tmp_path, "account")
    assert "Test laptop" in page.content()
    app_by_step_up(page, base, tmp_path)

    alone(first, page, base)  # the passkey alone

    # A wrong PIN with the right passkey is refused.
    first.clear_cookies()
    with_pin(page, base, "wrong-pin")
    page.wait_for_url(f"{base}/passkey")
    assert page.get_by_role("alert").first.inner_text() == (
        "The passkey, user name or PIN was not accepted."
    )
    assert signed_in_as(page, base) is None

    second = other_profile(browser, base, tmp_path)

    count = cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]
    assert count[0]["signCount"] >= 3
    third = clone_refused(browser, base, cred, tmp_path)
    alerts = [x for x in audit_lines(audit) if x.get("reason") == "passkey_cloned"]
    assert alerts and alerts[0]["user"] == "paula"
    alone(first, page, base)  # the original still signs in
    (cred,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]
    fourth = autofill(browser, base, cred)  # last: its copy counts ahead of the original
    for context in (first, second, third, fourth):
        context.close()
