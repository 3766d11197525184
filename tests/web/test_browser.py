"""A real browser (headless Chromium via Playwright) through nginx and the gate."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.otp.algorithms import totp

from .servers import NGINX_ERIN_KEY, ROOT

pytestmark = pytest.mark.slow

SCREENSHOT = ROOT / "docs/login.png"


def shrink(*pictures: Path) -> None:
    """Make refreshed pictures a quarter smaller, losslessly, when optipng is installed."""
    optipng = shutil.which("optipng")
    if optipng and pictures:
        args = [optipng, "-quiet", "-o2", "-strip", "all", *map(str, pictures)]
        subprocess.run(args, check=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from conftest import missing, require_tool

    chromium = require_tool("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def test_login_see_the_app_logout_asked_again(
    browser: Any, nginx_site: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 720, "height": 640}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{nginx_site}/app/dashboard")
        assert "/otpgate/login?rd=%2Fapp%2Fdashboard" in page.url
        assert page.get_by_role("heading", name="Sign in").is_visible()
        shot = tmp_path / "login.png"
        page.screenshot(path=str(shot))
        # The screenshot in docs/ is refreshed on request, so test runs leave the tree clean.
        if os.environ.get("OTPGATE_UPDATE_SCREENSHOT") or not SCREENSHOT.exists():
            shutil.copyfile(shot, SCREENSHOT)
            shrink(SCREENSHOT)

        # Labels are tied to their fields (an accessible form).
        page.get_by_label("User name").fill("erin")
        page.get_by_label("PIN").fill("wrong")
        page.get_by_label("One-time code").fill(totp(NGINX_ERIN_KEY, time.time()))
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong user name, PIN or code."
        assert page.get_by_label("User name").input_value() == "erin"

        page.get_by_label("PIN").fill("3333")
        page.get_by_label("One-time code").fill(totp(NGINX_ERIN_KEY, time.time() + 30))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{nginx_site}/app/dashboard")
        assert page.locator("h1").inner_text() == "Hello erin"

        page.get_by_role("link", name="Sign out").click()
        page.get_by_role("button", name="Sign out", exact=True).click()
        assert page.get_by_role("status").inner_text() == "You have signed out."

        page.goto(f"{nginx_site}/app/dashboard")
        assert "/otpgate/login" in page.url
        assert page.get_by_role("button", name="Sign in").is_visible()
    finally:
        context.close()
