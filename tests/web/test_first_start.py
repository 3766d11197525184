"""The first start, without a proxy: `otpgate init --config`, a user, `otpgate serve`,
and the pages work in a real browser on the address the gate listens on.

Only the commands a new administrator types (docs/operations.md, README), with
the starter configuration as `init` writes it; the listen port alone comes
from the environment, so the test can pick a free one.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from otpgate.otp.algorithms import totp
from procs import OTPGATE, free_port, otpgate_env, serve_argv, started

from .test_browser import browser  # noqa: F401 -- the shared Chromium fixture

pytestmark = pytest.mark.slow

PIN = "4711-first"


@dataclass(frozen=True)
class FirstStart:
    base: str
    key: bytes
    init_said: str


def _otpgate(directory: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
    done = subprocess.run(
        [*OTPGATE, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=directory,
        env=otpgate_env(env),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstStart]:
    d = tmp_path_factory.mktemp("first")
    config = str(d / "otpgate.toml")
    said = _otpgate(d, "init", "--config", config).stderr
    added = _otpgate(d, "user", "add", "root", "--config", config, "--pin-stdin", stdin=PIN + "\n")
    uri = urllib.parse.urlsplit(added.stdout.strip())
    secret = urllib.parse.parse_qs(uri.query)["secret"][0]
    _otpgate(d, "user", "set-role", "root", "admin", "--config", config)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
    env = otpgate_env({**env, "OTPGATE_WEB_LISTEN": f"127.0.0.1:{port}"})
    with started(serve_argv(config, None), port, d / "gate.log", "serve", env=env, cwd=d):
        import base64

        yield FirstStart(f"http://127.0.0.1:{port}", base64.b32decode(secret), said)


def test_init_does_not_ask_for_a_proxy_first(first_start: FirstStart) -> None:
    # The starter serves on its own address; a proxy is a later choice.
    assert "serves the pages at http://127.0.0.1:9090/" in first_start.init_said


def test_admin_works_in_a_browser_on_the_listening_address(
    browser: Any,  # noqa: F811
    first_start: FirstStart,
) -> None:
    site = first_start.base
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        answer = page.goto(f"{site}/admin")
        assert answer is not None and answer.status == 200
        assert page.url == f"{site}/login?rd=%2Fadmin"
        assert page.get_by_role("heading", name="Sign in").is_visible()
        page.get_by_label("User name").fill("root")
        page.get_by_label("PIN").fill(PIN)
        page.get_by_label("One-time code").fill(totp(first_start.key, time.time()))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{site}/admin")
        assert page.get_by_role("link", name="root").count() >= 1
    finally:
        context.close()


def test_a_missing_page_is_a_page_with_a_way_on(
    browser: Any,  # noqa: F811
    first_start: FirstStart,
) -> None:
    site = first_start.base
    context = browser.new_context(locale="de-DE")
    try:
        page = context.new_page()
        answer = page.goto(f"{site}/otpgate/login")
        assert answer is not None and answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert page.get_by_role("heading", name="Seite nicht gefunden").is_visible()
        page.get_by_role("link", name="Anmelden").click()
        page.wait_for_url(f"{site}/login")
        assert page.get_by_role("heading", name="Anmelden").is_visible()
    finally:
        context.close()
    # Programs get the short answer they always got.
    plain = httpx.get(f"{site}/nowhere")
    assert plain.status_code == 404 and plain.text == "Not Found"
