"""Settings, the mod_authn_otp directive table, and the request helpers."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from otpgate.config.loader import DIRECTIVES, load_config
from otpgate.errors import ConfigError
from otpgate.web.request import MalformedCredentials, client_address, parse_basic, safe_return_url
from otpgate.web.sessions import Session, SessionCodec

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def test_toml_env_and_directives(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("# comment\n" + "a" * 32 + "\n" + "b" * 32 + "\n")
    secret.chmod(0o600)
    path = tmp_path / "gate.toml"
    path.write_text(
        f"""
[mod_authn_otp]
OTPAuthUsersFile = "/etc/otp/users"
OTPAuthMaxOffset = 4
OTPAuthMaxLinger = 300
OTPAuthMaxOTPFailure = 5
OTPAuthLogoutOnIPChange = "On"
OTPAuthFallThrough = "off"

[auth]
max_linger = 120

[web]
session_secret_file = "{secret}"
trusted_proxies = ["10.0.0.0/8"]
"""
    )
    c = load_config(path, env={"OTPGATE_WEB_COOKIE_SECURE": "false", "OTPGATE_AUTH_WINDOW": "2"})
    assert c.store.url == "users-file:/etc/otp/users"
    assert c.auth.policy.look_ahead == 4 and c.auth.policy.window == 2  # env beats the file
    assert c.auth.max_linger == 120  # own table beats the directive table
    assert c.auth.max_otp_failures == 5 and c.auth.logout_on_ip_change is True
    assert c.web.cookie_secure is False
    assert c.secrets() == [b"a" * 32, b"b" * 32]
    s = c.auth_settings()
    assert s.policy.look_ahead == 4 and s.max_linger == 120 and s.logout_on_ip_change


def test_every_reference_directive_is_mapped() -> None:
    assert set(DIRECTIVES) == {
        "OTPAuthUsersFile",
        "OTPAuthMaxOffset",
        "OTPAuthMaxLinger",
        "OTPAuthMaxIdle",
        "OTPAuthMaxOTPFailure",
        "OTPAuthLogoutOnIPChange",
        "OTPAuthFallThrough",
        "OTPAuthPINAuthProvider",
        "AuthUserFile",  # Apache's, for OTPAuthPINAuthProvider file
    }


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[auth]\nmax_linger = "long"\nbogus = 1\n[web]\nredirect_status = 500\n[nope]\nx = 1\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"OTPGATE_AUTH_MAX_IDLE": "abc"})
    text = str(info.value)
    for part in ("auth.max_linger", "auth.bogus", "[nope]", "OTPGATE_AUTH_MAX_IDLE"):
        assert part in text


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="throttle_base"):
        load_config(None, env={"OTPGATE_AUTH_THROTTLE_BASE": "-1"})
    with pytest.raises(ConfigError, match="look_ahead"):
        load_config(None, env={"OTPGATE_AUTH_LOOK_AHEAD": "-1"})
    idle = load_config(None, env={"OTPGATE_AUTH_MAX_IDLE": "60"})
    assert idle.auth_settings().max_idle == 60 and idle.session_lifetime() == 12 * 3600
    with pytest.raises(ConfigError, match=r"web\.realm"):
        load_config(None, env={"OTPGATE_WEB_REALM": "Zürich"})
    with pytest.raises(ConfigError, match="redirect_status"):
        load_config(None, env={"OTPGATE_WEB_REDIRECT_STATUS": "500"})
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(None, env={"OTPGATE_WEB_TRUSTED_PROXIES": "nonsense"})
    with pytest.raises(ConfigError, match="session secret"):
        load_config(None, env={}).secrets()
    with pytest.raises(ConfigError, match="16 characters"):
        load_config(None, env={"OTPGATE_WEB_SESSION_SECRETS": "short"}).secrets()
    with pytest.raises(ConfigError, match="not valid TOML"):
        p = Path(__file__).with_suffix(".py")
        load_config(p, env={})


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.1", "1.2.3.4", "203.0.113.1"),  # untrusted peer: header ignored
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # left entries may be forged
        ("127.0.0.1", "1.2.3.4, 10.1.1.1", "1.2.3.4"),  # skip our own proxies
        ("127.0.0.1", "garbage, 10.1.1.1", "10.1.1.1"),
        ("127.0.0.1", "10.1.1.2, 10.1.1.1", "10.1.1.2"),
        ("::ffff:127.0.0.1", "1.2.3.4", "1.2.3.4"),
        (None, "1.2.3.4", ""),
    ],
)
def test_client_address(peer: str | None, xff: str | None, expected: str) -> None:
    assert client_address(peer, xff, TRUSTED) == expected


@pytest.mark.parametrize(
    "url", ["/", "/a/b?c=d#e", "https://app.example.com/x", "http://example.com:8080/"]
)
def test_safe_return_urls(url: str) -> None:
    assert safe_return_url(url, [".example.com"]) == url


@pytest.mark.parametrize(
    "url",
    [
        "//evil.test",
        "/\\evil.test",
        "\\\\evil.test",
        "https://evil.test",
        "https://example.com.evil.test/",
        "https://user@app.example.com/",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "/x\r\nLocation: https://evil.test",
        "/x\x00",
        "ftp://example.com/",
        "https:example.com",
        "https://app.example.com:99999/",
        "",
        None,
        "/" + "a" * 3000,
    ],
)
def test_unsafe_return_urls(url: str | None) -> None:
    assert safe_return_url(url, [".example.com"]) is None


def test_parse_basic() -> None:
    assert parse_basic("Basic YWxpY2U6MTIzNDU2Nzg5MA==") == ("alice", "1234567890")
    assert parse_basic("basic YWxpY2U6") == ("alice", "")
    for bad in ("Basic YWxpY2U", "Basic ====", "Basic YW xpY2U6", "Token x", "Basic Og=="):
        with pytest.raises(MalformedCredentials):
            parse_basic(bad)


def test_session_codec_lifetime_and_idle() -> None:
    codec = SessionCodec([b"x" * 32], lifetime=100, max_idle=None)
    value = codec.encode(Session("alice", 1000.0, 1000.0, "1.2.3.4"))
    assert codec.decode(value, 1050.0) == Session("alice", 1000.0, 1000.0, "1.2.3.4")
    assert codec.decode(value, 1100.5) is None
    assert codec.decode(value, 900.0) is None  # issued in the future beyond the skew
    idle = SessionCodec([b"x" * 32], lifetime=10_000, max_idle=30)
    value = idle.encode(Session("alice", 1000.0, 1000.0, "ip"))
    assert idle.decode(value, 1029.0) is not None and idle.decode(value, 1031.0) is None
    assert not idle.needs_refresh(Session("a", 1000.0, 1000.0, "ip"), 1001.0)
    assert idle.needs_refresh(Session("a", 1000.0, 1000.0, "ip"), 1004.0)


def test_otpgate_store_variable_names_the_store_url() -> None:
    c = load_config(None, env={"OTPGATE_STORE": "postgresql://gate@db.example/otp"})
    assert c.store.url == "postgresql://gate@db.example/otp"
    c = load_config(None, env={"OTPGATE_STORE_URL": "sqlite:///other.db"})
    assert c.store.url == "sqlite:///other.db"


def test_default_config_gives_the_authenticators_own_defaults() -> None:
    from otpgate.login.authenticator import AuthSettings

    assert load_config(None, env={}).auth_settings() == AuthSettings()


def test_session_bindings_are_kept_per_key_and_bounded() -> None:
    from otpgate.web import sessions

    codec = sessions.SessionCodec([b"s" * 32], 3600.0, None, instance="gate-a")
    other = sessions.SessionCodec([b"s" * 32], 3600.0, None, instance="gate-b")
    first = codec.binding(b"k" * 20)
    assert codec.binding(b"k" * 20) == first  # from the table, the same answer
    assert codec.binding(b"j" * 20) != first  # another record
    assert other.binding(b"k" * 20) != first  # another instance
    for i in range(sessions.VERIFIED_CACHE + 5):
        codec.binding(i.to_bytes(20, "big"))
        assert len(codec._bindings) <= sessions.VERIFIED_CACHE
