"""A slapd of each test's own (tests/slapd_proc.py), and settings that point at it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from slapd_proc import OwnSlapd, own_slapd

# python-ldap (otpgate[directory]) builds from source; where it could not, the
# modules that import it are not collected and test_python_ldap.py says NOT TESTED
# (under CI=true it fails: .ci/run installs what it builds with).
if importlib.util.find_spec("ldap") is None:
    collect_ignore_glob = ["test_[!p]*.py"]


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[OwnSlapd]:
    """slapd on 127.0.0.1 with the OpenLDAP and the AD-like tree (marks the test ``slapd``)."""
    home = tmp_path / "slapd"
    home.mkdir()
    with own_slapd(home) as server:
        yield server
