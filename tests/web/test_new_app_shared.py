"""A new app asked for at one gate is confirmed at another: two `otpgate serve --workers 2`
sharing PostgreSQL and Redis, as two hosts behind one name would.

The pending key lives in Redis: gate B (and any of its workers) takes the
confirmation of a key gate A showed, once; a wrong code there puts it back
for gate A to confirm.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from otpgate.otp.algorithms import totp
from otpgate.otp.keys import decode_key
from otpgate.store import open_store

from .conftest import csrf_token
from .test_shared_gates import USERS, two_gates

pytestmark = pytest.mark.slow


def _form(client: httpx.Client, base: str, page: httpx.Response, **fields: str) -> httpx.Response:
    return client.post(f"{base}/account", data={"csrf": csrf_token(page.text), **fields})


def _shown(page: httpx.Response) -> tuple[bytes, str]:
    key = re.search(r'id="key">([A-Z2-7 ]+)<', page.text)
    handle = re.search(r'name="pending" value="([^"]+)"', page.text)
    assert key is not None and handle is not None, page.text
    return decode_key(key.group(1).replace(" ", ""), "base32"), handle.group(1)


def test_a_pending_app_is_confirmed_at_another_gate_once(
    tmp_path: Path, postgres_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    pin, old_key = USERS["alice"]
    with (
        two_gates(tmp_path, postgres_url, redis_server_url, redis_prefix) as (a, b, _),
        httpx.Client(timeout=20) as browser,
    ):
        login = browser.get(f"{a}/login")
        fields = {"username": "alice", "pin": pin, "code": totp(old_key, time.time())}
        r = browser.post(f"{a}/login", data={**fields, "csrf": csrf_token(login.text)})
        assert r.status_code == 303, r.text
        page = browser.get(f"{a}/account")
        step = {"pin": pin, "code": totp(old_key, time.time() + 30)}  # the next: fresh
        shown = _form(browser, a, page, action="token_add", name="Tablet", **step)
        assert shown.status_code == 200, shown.text
        key, handle = _shown(shown)
        # A wrong code at gate B: the same key back under a new handle.
        wrong = _form(browser, b, shown, action="token_confirm", pending=handle, code="000000")
        assert wrong.status_code == 400, wrong.text
        same, again = _shown(wrong)
        assert same == key and again != handle
        # The right code at gate A; then the handle is used up at both.
        right = {"action": "token_confirm", "pending": again, "code": totp(key, time.time())}
        done = _form(browser, a, wrong, **right)
        assert done.status_code == 200 and "The new app has been added." in done.text
        for gate in (a, b):
            assert _form(browser, gate, wrong, **right).status_code == 410
    store = open_store(postgres_url, key_file=str(tmp_path / "otpgate.key"))
    try:
        record = store.get("alice")
        assert record is not None and [t.meta.name for t in record.tokens()] == ["token", "Tablet"]
    finally:
        store.close()
