"""Each setting's rule, at its edges: the last good value passes, the first bad one does not.

The rules are declared on the fields (otpgate.config.schema); each row here
fails if its rule is loosened or tightened by one step.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from otpgate.config.auth import AuthSettings
from otpgate.config.loader import SECTIONS, Config, load_config
from otpgate.config.schema import schema
from otpgate.config.state import StateSettings
from otpgate.config.web import WebConfig
from otpgate.errors import ConfigError

# (table, setting, good values, bad values, what the problem says)
EDGES = [
    ("auth", "max_linger", [0, 0.5, math.inf], [-0.001, math.nan], "a non-negative number"),
    ("auth", "max_idle", [0, 30], [-1, math.nan], "a non-negative number"),
    ("auth", "failure_unlock_after", [0, math.inf], [-1], "a non-negative number"),
    ("auth", "throttle_base", [0], [-0.5], "a non-negative number"),
    ("auth", "throttle_max", [0], [-1], "a non-negative number"),
    ("auth", "state_ttl", [0], [-1], "a non-negative number"),
    ("auth", "guess_window", [0], [-1], "a non-negative number"),
    ("auth", "trusted_for", [0], [-1], "a non-negative number"),
    ("auth", "max_otp_failures", [0, 10], [-1], "a non-negative whole number"),
    ("auth", "throttle_free_failures", [0], [-1], "a non-negative whole number"),
    ("auth", "cache_size", [0], [-1], "a non-negative whole number"),
    ("auth", "throttle_size", [0], [-1], "a non-negative whole number"),
    ("auth", "guess_budget", [0], [-1], "a non-negative whole number"),
    ("auth", "look_ahead", [0], [-1], "a non-negative whole number"),
    ("auth", "window", [0], [-1], "a non-negative whole number"),
    ("auth", "max_drift", [0], [-1], "a non-negative whole number"),
    ("auth", "throttle_ipv6_prefix", [0, 128], [-1, 129], "0 to 128"),
    ("auth", "throttle_names_per_address", [1], [0], "at least 1"),
    ("auth", "pin_provider", ["htpasswd:/x"], ["ldap:x", "/x"], "htpasswd:/path"),
    ("auth", "audit_log_mode", ["0600", "0640", "0660"], ["0666", "600"], "one of 0600"),
    ("web", "realm", ["otpgate", "a b~"], ['a"b', "a\\b", "caf\u00e9", "a\nb"], "printable ASCII"),
    ("web", "redirect_status", [302, 303, 307, 401], [301, 308, 200], "302, 303, 307 or 401"),
    ("web", "log_format", ["text", "json"], ["JSON", ""], "text or json"),
    ("web", "max_body", [256], [255], "at least 256 bytes"),
    (
        "web",
        "webauthn_rp_id",
        ["", "example.com", "localhost"],
        ["192.0.2.1", "::1"],
        "not an address",
    ),
    (
        "web",
        "webauthn_rp_id",
        ["a-b.example"],
        ["Example.com", "x.com:443", "https://x.com"],
        "lower-case domain",
    ),
    (
        "web",
        "webauthn_origins",
        [[], ["https://a.example.com:8443"], ["http://localhost:8080"]],
        [["http://a.example.com"], ["https://a.example.com/x"], ["https://A.example.com"]],
        "http only for localhost",
    ),
    ("web", "session_lifetime", [0.001], [0, -1], "positive"),
    ("web", "session_idle", [0, 1], [-0.001], "not be negative"),
    ("web", "language", ["", "en", "de"], ["fr", "EN"], '"en", "de" or ""'),
    ("web", "pin_min_length", [4, 64], [3, 65], "4 to 64"),
    ("web", "landing_url", ["", "/", "https://a", "http://a"], ["a", "ftp://a"], "http(s) URL"),
    ("web", "signed_out_url", ["/bye"], ["bye"], "http(s) URL"),
    ("web", "portal_url", ["/otpgate", "https://auth"], ["auth.example.com"], "http(s) URL"),
    ("web", "trusted_proxies", [["10.0.0.0/8", "::1"]], [["10.0.0.0/33"], ["x"]], "networks"),
    ("web", "metrics_allow", [["127.0.0.1"]], [["localhost"]], "networks"),
    (
        "state",
        "url",
        ["redis://h/0", "rediss://h", "unix:///s", "sqlite:///x", "local"],
        ["http://h", "localx", "sqlite://x"],
        "redis://host",
    ),
    ("state", "key_prefix", ["otpgate:", "x"], ["", "a b", "a\tb"], "non-empty, without spaces"),
    ("state", "timeout", [0.001, 10], [0, 10.001, -1, math.nan], "more than 0 and at most 10"),
    ("privacyidea", "prefix", ["", "/pi", "/a/b.c"], ["pi", "/pi/", "/p i", "/"], "a path like"),
    ("privacyidea", "realm", ["r", "r" * 64, "a.b_c-d"], ["", "r" * 65, "a b", "a@b"], "1 to 64"),
    ("privacyidea", "challenge_ttl", [10, 3600], [9.999, 3600.001, math.nan], "10 to 3600"),
    ("privacyidea", "challenge_message", ["x", "x" * 200], ["", "x" * 201], "1 to 200"),
    ("privacyidea", "token_lifetime", [60, 86400], [59.999, 86400.001], "60 to 86400"),
    (
        "directory",
        "url",
        [[], ["ldap://a", "LDAPS://b:636"]],
        [["http://a"], ["ldap://a", "ldapi:///"]],
        "ldap:// (StartTLS) or ldaps://",
    ),
    ("directory", "user_filter", ["(uid=*)"], ["uid=*", "(uid=*"], "filter in parentheses"),
    ("directory", "disabled_filter", ["(a=b)"], ["a=b"], "filter in parentheses"),
    ("directory", "pin", ["own", "directory", "none"], ["Own", "userstore"], "own, directory"),
    ("directory", "session_recheck", [0], [-0.001, math.nan], "a non-negative number"),
    ("directory", "timeout", [0.001], [0, -1], "positive"),
    ("directory", "pool_size", [1], [0], "at least 1"),
    ("directory", "cache_ttl", [0], [-1], "a non-negative number"),
    ("directory", "cache_size", [1], [0], "at least 1"),
    ("directory", "max_bind_failures", [1], [0], "at least 1"),
    ("directory", "bind_failure_window", [0], [-1], "a non-negative number"),
]
ROWS = [
    pytest.param(t, n, v, says, id=f"{t}.{n}={v!r}") for t, n, _, bad, says in EDGES for v in bad
]
GOOD = [pytest.param(t, n, v, id=f"{t}.{n}={v!r}") for t, n, good, _, _ in EDGES for v in good]


@pytest.mark.parametrize(("table", "name", "value", "says"), ROWS)
def test_a_bad_value_is_refused_with_where_it_came_from(
    table: str, name: str, value: object, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={}, overrides={table: {name: value}})
    assert f"command line: {table}.{name} must " in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize(("table", "name", "value"), GOOD)
def test_the_last_good_value_passes(table: str, name: str, value: object) -> None:
    config = load_config(None, env={}, overrides={table: {name: value}})
    part = getattr(config, table)
    got = getattr(part.policy if name in ("look_ahead", "window", "max_drift") else part, name)
    expected = tuple(value) if isinstance(value, list) else value
    assert got == expected or (isinstance(got, float) and math.isinf(got))


def test_every_rule_is_tried() -> None:
    declared = {
        (table, s.name)
        for table, cls in SECTIONS.items()
        for s in schema(cls).settings.values()
        if s.rule is not None
    }
    assert declared == {(t, n) for t, n, *_ in EDGES}


@pytest.mark.parametrize(
    ("cls", "changes", "says"),
    [
        (AuthSettings, {"throttle_base": -1, "cache_size": -1}, "throttle_base must be"),
        (AuthSettings, {"max_password": -1}, "max_password must be"),
        (AuthSettings, {"max_linger": "600"}, "max_linger must be a number"),
        (WebConfig, {"max_body": 1}, "max_body must be at least 256 bytes"),
        (StateSettings, {"timeout": 0}, "timeout must be more than 0"),
    ],
)
def test_a_section_built_by_hand_is_checked_by_the_same_rules(
    cls: type, changes: dict[str, object], says: str
) -> None:
    with pytest.raises(ValueError, match=says) as info:
        cls(**changes)
    if len(changes) > 1:  # every problem at once
        assert all(name in str(info.value) for name in changes)
    with pytest.raises(ValueError, match=says):
        dataclasses.replace(cls(), **changes)


def test_all_problems_of_all_tables_come_in_one_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            None,
            env={"OTPGATE_STATE_TIMEOUT": "0", "OTPGATE_WEB_MAX_BODY": "x"},
            directives={"OTPAuthMaxLinger": "-5"},
            overrides={"auth": {"cache_size": -1}, "nowhere": {"x": 1}},
        )
    text = str(info.value)
    for part in (
        "directives: auth.max_linger must be a non-negative number",
        "OTPGATE_STATE_TIMEOUT: state.timeout must be more than 0",
        "OTPGATE_WEB_MAX_BODY: web.max_body: expected a whole number, not 'x'",
        "command line: auth.cache_size must be",
        "command line: unknown table [nowhere]",
    ):
        assert part in text
    assert text.count("; ") == 4  # one problem each (config check splits on "; ")


def test_a_later_good_value_replaces_an_earlier_bad_one() -> None:
    # Precedence holds for the rules too: the value that counts is checked.
    config = load_config(
        None, env={"OTPGATE_WEB_MAX_BODY": "100"}, overrides={"web": {"max_body": 1024}}
    )
    assert config.web.max_body == 1024


def test_defaults_keep_their_rules() -> None:
    # Building a section does not check its defaults again: this does.
    for cls in SECTIONS.values():
        for one, default in schema(cls).checked:
            assert one.problem(default) is None, (cls, one.name)
    config = Config()
    assert config.auth == AuthSettings() and config.web.max_body == 8192
    assert set(SECTIONS) == {"store", "auth", "web", "state", "privacyidea", "directory"}
