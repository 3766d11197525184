"""The [auth] table is AuthSettings itself: one name, default and check per setting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from otpgate.config.auth import AuthSettings
from otpgate.config.loader import load_config
from otpgate.errors import ConfigError
from otpgate.otp.verify import Policy


def test_the_auth_table_loads_auth_settings_with_its_policy(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(
        "[auth]\nlook_ahead = 3\nwindow = 2\nmax_drift = 5\naccept_hex = true\n"
        'max_linger = 60\npin_provider = "htpasswd:/etc/ht"\naudit_log = "-"\n'
    )
    c = load_config(path, env={"OTPGATE_AUTH_MAX_IDLE": "30"})
    assert isinstance(c.auth, AuthSettings) and c.auth_settings() is c.auth
    assert c.auth.policy == Policy(look_ahead=3, window=2, max_drift=5, accept_hex=True)
    assert (c.auth.max_linger, c.auth.max_idle) == (60, 30)
    assert (c.auth.pin_provider, c.auth.audit_log) == ("htpasswd:/etc/ht", "-")
    # Not set: the Authenticator's own defaults, not a copy of them.
    assert c.auth.throttle_max == AuthSettings().throttle_max


def test_every_auth_setting_can_be_set_and_nothing_else() -> None:
    """A new AuthSettings field is a setting of the file without touching config.py."""
    names = {f.name for f in dataclasses.fields(AuthSettings)} - {"policy", "max_password"}
    names |= {"look_ahead", "window", "max_drift", "accept_hex"}
    for name in sorted(names):
        try:  # a bad value may be refused, the name may not
            load_config(None, env={f"OTPGATE_AUTH_{name.upper()}": "-7"})
        except ConfigError as exc:
            assert "unknown setting" not in str(exc), name
    for name in ("policy", "max_password", "sync_event", "bogus"):
        with pytest.raises(ConfigError, match=f"unknown setting auth.{name}"):
            load_config(None, env={f"OTPGATE_AUTH_{name.upper()}": "1"})


def test_directives_set_the_policy_and_the_rules() -> None:
    c = load_config(
        None,
        env={},
        directives={
            "OTPAuthMaxOffset": "4",
            "OTPAuthMaxIdle": "300",
            "OTPAuthPINAuthProvider": "htpasswd:/x",
        },
    )
    assert (c.auth.policy.look_ahead, c.auth.policy.window) == (4, 4)
    assert c.auth.max_idle == 300 and c.auth.pin_provider == "htpasswd:/x"


def test_pin_provider_file_takes_the_auth_user_file() -> None:
    # Copied from an Apache configuration: the provider's name, and the file
    # Apache's "file" provider reads, named by AuthUserFile.
    c = load_config(
        None,
        env={},
        directives={"OTPAuthPINAuthProvider": "file", "AuthUserFile": "/etc/apache2/pins"},
    )
    assert c.auth.pin_provider == "htpasswd:/etc/apache2/pins"
    # otpgate's own form still works; AuthUserFile alone sets nothing.
    c = load_config(None, env={}, directives={"AuthUserFile": "/etc/apache2/pins"})
    assert c.auth.pin_provider is None


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ({"OTPAuthPINAuthProvider": "file"}, "OTPAuthPINAuthProvider file needs AuthUserFile"),
        ({"OTPAuthPINAuthProvider": "ldap"}, "OTPAuthPINAuthProvider ldap: not supported"),
        ({"OTPAuthPINAuthProvider": "file ldap", "AuthUserFile": "/x"}, "file ldap: not"),
    ],
)
def test_pin_providers_that_do_not_carry_over_are_named(
    directives: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config(None, env={}, directives=directives)
    assert "htpasswd:" in str(info.value)  # and what works instead


def test_bad_auth_values_are_reported_with_every_other_problem() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            None,
            env={
                "OTPGATE_AUTH_THROTTLE_BASE": "-1",
                "OTPGATE_AUTH_PIN_PROVIDER": "ldap:x",
                "OTPGATE_WEB_REDIRECT_STATUS": "500",
            },
        )
    text = str(info.value)
    for part in (
        "OTPGATE_AUTH_THROTTLE_BASE: auth.throttle_base must be a non-negative number",
        "OTPGATE_AUTH_PIN_PROVIDER: auth.pin_provider must be htpasswd:",
        "OTPGATE_WEB_REDIRECT_STATUS: web.redirect_status must be 302",
    ):
        assert part in text
    # The policy's settings, flat in [auth], are checked by the same rules.
    with pytest.raises(ConfigError, match=r"OTPGATE_AUTH_LOOK_AHEAD: auth\.look_ahead must be"):
        load_config(None, env={"OTPGATE_AUTH_LOOK_AHEAD": "-1"})
