"""A slapd of each test's own (tests/slapd_proc.py), and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from slapd_proc import OwnSlapd, own_slapd


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[OwnSlapd]:
    """slapd on 127.0.0.1 with the OpenLDAP and the AD-like tree (marks the test ``slapd``)."""
    home = tmp_path / "slapd"
    home.mkdir()
    with own_slapd(home) as server:
        yield server
