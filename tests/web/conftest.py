"""Fixtures for the gate: a memory store with users, a frozen clock, the app."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette 1.x nags about httpx in its TestClient; httpx is what we have.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from otpgate.config.loader import Config, load_config
from otpgate.login.authenticator import Authenticator
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import TokenType
from otpgate.store import Store, open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from otpgate.web import create_app
from otpgate.web.clients import ClientAddresses
from otpgate.web.metrics import Metrics
from otpgate.web.sessions import SessionCodec

KEY = b"12345678901234567890"
UNICODE_KEY = b"abcdefghijabcdefghij"
PIN = "1234"
UNICODE_USER = "jürgen-ñ-日本"
UNICODE_PIN = "pïn"
T0 = 1_800_000_000.0
SECRET = "s" * 40
API_KEY = "k" * 40
PROXY = ("127.0.0.1", 40000)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def code(clock: Clock | float, key: bytes = KEY, offset: int = 0) -> str:
    now = clock() if isinstance(clock, Clock) else clock
    return totp(key, now + offset * 30)


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m is not None, html
    return m.group(1)


def make_store() -> MemoryStore:
    store = MemoryStore()
    store.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY, Pin("plain", PIN)))
    store.add(
        UserRecord(UNICODE_USER, TokenType("HOTP", 30, 6), UNICODE_KEY, Pin("plain", UNICODE_PIN))
    )
    return store


def make_sqlite_store(directory: Path) -> Store:
    """An SQLite store (its own key file) holding alice with a hashed PIN."""
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    store = open_store(f"sqlite:///{directory / 'otpgate.db'}", key_file=str(key_file))
    pin = Pin("hash", FAST_TEST_HASHER.hash(PIN))
    store.add(UserRecord("alice", TokenType("HOTP", 30, 6), KEY, pin))
    return store


def make_config(**web: Any) -> Config:
    settings: dict[str, Any] = {
        "session_secrets": [SECRET],
        "cookie_secure": False,
        "api_keys": [API_KEY],
        "portal_url": "/otpgate",
    }
    auth = web.pop("auth", {})
    settings.update(web)
    return load_config(None, env={}, overrides={"web": settings, "auth": auth})


@dataclasses.dataclass
class App:
    """One app under test with its parts."""

    config: Config
    store: MemoryStore
    clock: Clock
    authenticator: Authenticator
    client: TestClient

    def metrics(self) -> Metrics:
        metrics: Metrics = self.client.app.state.metrics  # type: ignore[attr-defined]
        return metrics

    def session_codec(self) -> SessionCodec:
        codec: SessionCodec = self.client.app.state.sessions.codec  # type: ignore[attr-defined]
        return codec

    def clients(self) -> ClientAddresses:
        clients: ClientAddresses = self.client.app.state.clients  # type: ignore[attr-defined]
        return clients

    def login(self, user: str = "alice", pin: str = PIN, rd: str = "", **headers: str) -> Any:
        page = self.client.get("/login")
        assert page.status_code == 200
        return self.client.post(
            "/login",
            data={
                "username": user,
                "pin": pin,
                "code": code(self.clock, UNICODE_KEY if user == UNICODE_USER else KEY),
                "csrf": csrf_token(page.text),
                "rd": rd,
            },
            headers=headers,
        )


AppFactory = Callable[..., App]


@pytest.fixture
def make_gate() -> Iterator[AppFactory]:
    clients: list[TestClient] = []

    def factory(
        *,
        store: MemoryStore | None = None,
        clock: Clock | None = None,
        peer: tuple[str, int] = PROXY,
        **web: Any,
    ) -> App:
        config = make_config(**web)
        store = store or make_store()
        clock = clock or Clock()
        authenticator = Authenticator(store, config.auth_settings(), clock=clock)
        app = create_app(config, authenticator)
        client = TestClient(app, client=peer, follow_redirects=False)
        clients.append(client)
        return App(config, store, clock, authenticator, client)

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def gate(make_gate: AppFactory) -> App:
    return make_gate()


@pytest.fixture(scope="session")
def nginx_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx (examples/nginx/otpgate.conf) -> otpgate serve, an echo upstream; the base URL."""
    from conftest import require_tool
    from procs import serving

    from .servers import NGINX_USERS, make_store, run_nginx, write_gate_config

    nginx = require_tool("nginx")
    directory = tmp_path_factory.mktemp("nginx")
    url, key_file = make_store(directory, NGINX_USERS)
    config = write_gate_config(directory, url, key_file)
    with serving(config, directory) as gate_port, run_nginx(nginx, directory, gate_port) as port:
        yield f"http://127.0.0.1:{port}"
