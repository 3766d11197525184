"""``web.webauthn_rp_id`` and ``web.webauthn_origins``: checked, or taken from ``portal_url``."""

from __future__ import annotations

from typing import Any

import pytest

from otpgate.config.loader import load_config
from otpgate.config.web import WebConfig, webauthn_party
from otpgate.errors import ConfigError


def load(**web: Any) -> WebConfig:
    return load_config(None, env={}, overrides={"web": web}).web


@pytest.mark.parametrize(
    ("web", "party"),
    [
        ({}, None),
        ({"portal_url": "/otpgate"}, None),
        (
            {"portal_url": "https://Auth.Example.com/"},
            ("auth.example.com", ("https://auth.example.com",)),
        ),
        (
            {"portal_url": "https://auth.example.com:8443"},
            ("auth.example.com", ("https://auth.example.com:8443",)),
        ),
        ({"webauthn_rp_id": "example.com"}, ("example.com", ("https://example.com",))),
        (
            {"webauthn_rp_id": "example.com", "portal_url": "https://auth.example.com"},
            ("example.com", ("https://example.com",)),
        ),
        (
            {
                "webauthn_rp_id": "example.com",
                "webauthn_origins": ["https://a.example.com", "https://b.example.com"],
            },
            ("example.com", ("https://a.example.com", "https://b.example.com")),
        ),
        (
            {"webauthn_rp_id": "localhost", "webauthn_origins": ["http://localhost:8080"]},
            ("localhost", ("http://localhost:8080",)),
        ),
    ],
)
def test_the_relying_party(web: dict[str, Any], party: object) -> None:
    assert webauthn_party(load(**web)) == party


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ({"webauthn_rp_id": "192.0.2.1"}, "a domain name, not an address"),
        ({"webauthn_rp_id": "https://example.com"}, "lower-case domain name"),
        ({"webauthn_rp_id": "Example.com"}, "lower-case domain name"),
        ({"webauthn_rp_id": "example.com:443"}, "lower-case domain name"),
        ({"webauthn_origins": ["https://example.com"]}, "needs web.webauthn_rp_id"),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["http://auth.example.com"]},
            "http only for localhost",
        ),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["https://auth.example.com/x"]},
            "https://host",
        ),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["https://Auth.example.com"]},
            "lower case",
        ),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["https://example.com.evil.net"]},
            "not on",
        ),
        (
            {"webauthn_rp_id": "example.com", "webauthn_origins": ["https://badexample.com"]},
            "not on",
        ),
    ],
)
def test_bad_settings_are_refused_clearly(web: dict[str, Any], problem: str) -> None:
    # A setting's own rule when it is read; the origins against the RP ID when the app starts.
    with pytest.raises(ConfigError, match=problem):
        webauthn_party(load(**web))
