"""The ``[privacyidea]`` table: its defaults and names (its rules' edges: test_rules.py)."""

from __future__ import annotations

import pytest

from otpgate.config.loader import load_config
from otpgate.config.privacyidea import PrivacyIdeaSettings
from otpgate.errors import ConfigError


def test_off_by_default_at_the_root() -> None:
    settings = load_config(None, env={}).privacyidea
    assert settings == PrivacyIdeaSettings()
    assert not settings.enabled and settings.prefix == "" and not settings.challenge_response


def test_from_the_environment() -> None:
    env = {"OTPGATE_PRIVACYIDEA_ENABLED": "true", "OTPGATE_PRIVACYIDEA_PREFIX": "/pi"}
    settings = load_config(None, env=env).privacyidea
    assert settings.enabled and settings.prefix == "/pi"


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting privacyidea\.url"):
        load_config(None, env={}, overrides={"privacyidea": {"url": "x"}})
