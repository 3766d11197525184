"""A gate with privacyIDEA's validate API on, and helpers to call it as the plugins do."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from otpgate.config.loader import load_config
from otpgate.login.authenticator import Authenticator
from otpgate.state.base import SharedState
from otpgate.store.memory import MemoryStore
from otpgate.web import create_app

from ..conftest import API_KEY, PIN, PROXY, SECRET, App, Clock, code, make_store

__all__ = ["API_KEY", "PIN", "Pi", "code"]


@dataclasses.dataclass
class Pi(App):
    """A gate under test with the privacyIDEA endpoints at ``prefix``."""

    prefix: str = ""

    def check(self, **params: str) -> Any:
        """``POST /validate/check`` as a form (the FreeRADIUS plugin's way)."""
        return self.client.post(self.prefix + "/validate/check", data=params)

    def good(self, user: str = "alice") -> str:
        return PIN + code(self.clock)


@pytest.fixture
def make_pi() -> Iterator[Any]:
    clients: list[TestClient] = []

    def factory(
        *,
        store: MemoryStore | None = None,
        clock: Clock | None = None,
        state: SharedState | None = None,
        peer: tuple[str, int] = PROXY,
        auth: dict[str, Any] | None = None,
        web: dict[str, Any] | None = None,
        **privacyidea: Any,
    ) -> Pi:
        settings = {"enabled": True} | privacyidea
        web_settings = {
            "session_secrets": [SECRET],
            "cookie_secure": False,
            "api_keys": [API_KEY],
        } | (web or {})
        overrides = {"web": web_settings, "auth": auth or {}, "privacyidea": settings}
        config = load_config(None, env={}, overrides=overrides)
        store = store or make_store()
        clock = clock or Clock()
        authenticator = Authenticator(store, config.auth_settings(), clock=clock, state=state)
        client = TestClient(create_app(config, authenticator), client=peer, follow_redirects=False)
        clients.append(client)
        return Pi(config, store, clock, authenticator, client, config.privacyidea.prefix)

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def pi(make_pi: Any) -> Pi:
    return make_pi()
