"""How values are read: TOML as typed (never coerced), environment text parsed by kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from otpgate.config.kinds import kind_of
from otpgate.config.loader import SECTIONS, load_config
from otpgate.config.schema import schema
from otpgate.errors import ConfigError


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("[auth]\nmax_linger = true", "auth.max_linger: expected a number"),
        ("[auth]\ncache_size = 1.5", "auth.cache_size: expected a whole number"),
        ("[auth]\ncache_size = true", "auth.cache_size: expected a whole number"),
        ("[auth]\nfall_through = 1", "auth.fall_through: expected true or false"),
        ('[auth]\nfall_through = "yes"', "auth.fall_through: expected true or false"),
        ("[web]\nrealm = 5", "web.realm: expected a string"),
        ('[web]\ntrusted_proxies = "127.0.0.1"', "web.trusted_proxies: expected a list of strings"),
        ("[web]\ntrusted_proxies = [1]", "web.trusted_proxies: expected a list of strings"),
        ('[state]\ntimeout = "1"', "state.timeout: expected a number"),
        ("web = 1", "[web] must be a table"),
        ("[colour]\nx = 1", "unknown table [colour]"),
        ("mod_authn_otp = 1", "[mod_authn_otp] must be a table"),
    ],
)
def test_toml_values_are_taken_as_typed(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=rf"{path}: {re.escape(says)}"):
        load_config(path, env={})


def test_environment_text_is_parsed_by_kind() -> None:
    c = load_config(
        None,
        env={
            "OTPGATE_WEB_TRUSTED_PROXIES": " 10.0.0.1, ::1,, ",
            "OTPGATE_WEB_COOKIE_SECURE": "Off",
            "OTPGATE_WEB_MAX_BODY": "1024",
            "OTPGATE_AUTH_MAX_LINGER": "1e3",
            "OTPGATE_AUTH_MAX_IDLE": "none",
            "OTPGATE_WEB_COOKIE_DOMAIN": "",
            "OTPGATE_STORE": "memory:",
        },
    )
    assert c.web.trusted_proxies == ("10.0.0.1", "::1")
    assert (c.web.cookie_secure, c.web.max_body) == (False, 1024)
    assert (c.auth.max_linger, c.auth.max_idle) == (1000.0, None)
    assert c.web.cookie_domain is None and c.store.url == "memory:"
    with pytest.raises(
        ConfigError, match=r"OTPGATE_WEB_SESSION_IDLE: web\.session_idle: expected a number"
    ):
        load_config(None, env={"OTPGATE_WEB_SESSION_IDLE": "half an hour"})
    with pytest.raises(ConfigError, match="expected on/off, true/false, not 'maybe'"):
        load_config(None, env={"OTPGATE_WEB_DEMO": "maybe"})


def test_every_setting_keeps_its_environment_name() -> None:
    """OTPGATE_<TABLE>_<SETTING> for every setting of every table; nothing else."""
    names = {(t, n) for t, cls in SECTIONS.items() for n in schema(cls).settings}
    assert len(names) > 50
    for table, name in sorted(names):
        try:  # a bad value may be refused, the name may not
            load_config(None, env={f"OTPGATE_{table.upper()}_{name.upper()}": "-7"})
        except ConfigError as exc:
            assert "unknown setting" not in str(exc), name
    for var in ("OTPGATE_WEB_BOGUS", "OTPGATE_STATE_"):
        with pytest.raises(ConfigError, match="unknown setting"):
            load_config(None, env={var: "1"})
    # Other tools' variables are not ours to judge.
    assert load_config(None, env={"OTPGATE_TEST_SERVER": "x", "OTPGATE_CONFIG": "/x"})


def test_a_field_of_no_known_kind_is_a_programming_error() -> None:
    assert kind_of("float | None")[1] is True
    with pytest.raises(TypeError, match="cannot have the type 'dict"):
        kind_of("dict[str, str]")
