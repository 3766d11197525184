"""docs/directory.md's two examples load as written, and say what they claim."""

from __future__ import annotations

import re
from pathlib import Path

from guides import ROOT
from otpgate.config.loader import load_config

DOC = (ROOT / "docs/directory.md").read_text()


def examples() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC, re.S)


def test_the_openldap_and_ad_examples_load(tmp_path: Path) -> None:
    openldap, ad = examples()
    path = tmp_path / "otpgate.toml"
    path.write_text(openldap)
    d = load_config(path, env={}).directory
    assert d.url == ("ldap://ldap1.example.org", "ldap://ldap2.example.org")
    assert not d.active_directory and d.pin == "directory"
    path.write_text(ad)
    d = load_config(path, env={}).directory
    assert d.active_directory and d.login_attribute == "sAMAccountName"
    assert d.max_bind_failures == 3


def test_every_setting_is_in_the_table() -> None:
    import dataclasses

    from otpgate.directory.settings import DirectorySettings

    for field in dataclasses.fields(DirectorySettings):
        assert f"`{field.name}`" in DOC, field.name
