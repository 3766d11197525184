"""StoreLifecycle and the whole contract: every backend is a Store, answers, closes."""

from __future__ import annotations

import pytest

from otpgate.errors import StoreError
from otpgate.store import (
    AdminStore,
    LoginStore,
    SelfServiceStore,
    Store,
    StoreLifecycle,
    open_store,
)

from .conftest import Opener, every_backend, user

pytestmark = every_backend


def test_ping_and_url(opener: Opener, store_url: str) -> None:
    s = opener()
    assert isinstance(s, StoreLifecycle)
    s.ping()
    assert s.url == store_url


def test_every_backend_keeps_the_whole_contract(opener: Opener) -> None:
    s = opener()
    for protocol in (Store, LoginStore, SelfServiceStore, AdminStore):
        assert isinstance(s, protocol), protocol.__name__


def test_a_closed_store_is_left_alone_or_refuses_clearly(store_url: str, backend: str) -> None:
    s = open_store(store_url)
    s.add(user("alice"))
    s.close()
    s.close()  # twice is fine
    if backend in ("sqlite", "postgresql"):
        # Connections are gone: a use says so, in the store's own words.
        with pytest.raises(StoreError, match="closed"):
            s.get("alice")
    else:
        # Nothing to release: a file is read again, memory is still there.
        got = s.get("alice")
        assert got is not None and got.username == "alice"
    if backend != "memory":
        # Closing lost nothing: the store opened again finds the user.
        again = open_store(store_url)
        try:
            assert again.get("alice") is not None
        finally:
            again.close()
