"""Store fixtures: one factory per backend, each opening fresh, empty storage."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otpgate.store import Store, crypto, open_store

Opener = Callable[[], Store]

# PostgreSQL as a parameter: marked, so that -m "not postgres" leaves it out.
POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)
BACKENDS = ["memory", "sqlite", "users-file", POSTGRESQL]
SQL = ["sqlite", POSTGRESQL]


def make_users_file(path: Path, content: bytes = b"") -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return path


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = str(tmp_path / "otpgate.key")
    crypto.create_key_file(path)
    return path


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path, key_file: str) -> str:
    """A URL for fresh storage of the backend named by ``request.param``."""
    kind = request.param
    if kind == "memory":
        return "memory:"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'otpgate.db'}?key_file={key_file}"
    if kind == "users-file":
        return f"users-file:{make_users_file(tmp_path / 'users')}"
    url: str = request.getfixturevalue("postgres_url")
    return f"{url}?key_file={key_file}"


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend a test parametrized over ``store_url`` runs against."""
    name: str = request.node.callspec.params["store_url"]
    return name


@pytest.fixture
def opener(store_url: str) -> Iterator[Opener]:
    """Opens the store (again); every store opened is closed afterwards."""
    opened: list[Store] = []
    memory: list[Store] = []

    def open_() -> Store:
        if store_url == "memory:":
            # A memory store lives only as long as its object: "reopening" returns it.
            if not memory:
                memory.append(open_store(store_url))
            return memory[0]
        s = open_store(store_url)
        opened.append(s)
        return s

    yield open_
    for s in opened + memory:
        s.close()
