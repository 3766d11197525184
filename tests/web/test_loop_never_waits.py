"""The event loop never waits for a PIN hash (issue 23): while a fresh login's hash
runs, sessions, lingering credentials and /healthz are answered.

The hash is held (an Event, not a clock): a request that needed the loop
while it is held would never finish, and the test would fail at its guard.
"""

from __future__ import annotations

import asyncio
import base64
import threading

import httpx
import pytest

from otpgate.login.authenticator import Authenticator
from otpgate.login.pins import FAST_TEST_HASHER, PinHasher
from otpgate.otp.tokens import TokenType
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from otpgate.web import create_app

from .conftest import KEY, PIN, PROXY, Clock, code, make_config

GUARD = 30.0  # seconds before a stuck request fails the test (never reached when green)


def test_other_requests_are_answered_while_a_hash_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    hashed = Pin("hash", FAST_TEST_HASHER.hash(PIN))
    for name in ("alice", "bob"):
        store.add(UserRecord(name, TokenType("HOTP", 30, 6), KEY, hashed))
    clock = Clock()
    authenticator = Authenticator(store, make_config().auth_settings(), clock=clock)
    app = create_app(make_config(), authenticator)
    entered, release = threading.Event(), threading.Event()
    real_verify = PinHasher.verify

    def held_verify(self: PinHasher, stored: str, pin: str) -> bool:
        entered.set()
        assert release.wait(GUARD), "the held hash was never released"
        return real_verify(self, stored, pin)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app, client=PROXY)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            # bob logs in first, unhindered: his credential then lingers.
            bob = {"Authorization": basic("bob", PIN + code(clock))}
            assert (await client.get("/auth", headers=bob)).status_code == 200
            monkeypatch.setattr(PinHasher, "verify", held_verify)
            alice = {"Authorization": basic("alice", PIN + code(clock))}
            fresh = asyncio.create_task(client.get("/auth", headers=alice))
            await asyncio.wait_for(asyncio.to_thread(entered.wait, GUARD), GUARD)
            # alice's hash is held in the threadpool; the loop still answers.
            lingering = await asyncio.wait_for(client.get("/auth", headers=bob), GUARD)
            health = await asyncio.wait_for(client.get("/healthz"), GUARD)
            assert lingering.status_code == 200 and health.status_code == 200
            assert not fresh.done()
            release.set()
            assert (await asyncio.wait_for(fresh, GUARD)).status_code == 200

    try:
        asyncio.run(scenario())
    finally:
        release.set()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
