"""The portal's session: a working day, independent of the Basic linger."""

from __future__ import annotations

import pytest

from otpgate.config.loader import load_config
from otpgate.errors import ConfigError

from .conftest import AppFactory


def test_defaults_are_a_working_day() -> None:
    config = load_config(None, env={})
    assert config.session_lifetime() == 12 * 3600
    assert config.session_idle() == 30 * 60
    # Independent of the Basic linger (10 minutes by default).
    assert load_config(None, env={}, overrides={"auth": {"max_linger": 60}}).session_idle() == 1800
    assert load_config(None, env={"OTPGATE_WEB_SESSION_IDLE": "0"}).session_idle() is None


@pytest.mark.parametrize(
    "web",
    [
        {"session_lifetime": 0},
        {"session_idle": -1},
        {"language": "fr"},
        {"pin_min_length": 2},
        {"landing_url": "javascript:alert(1)"},
        {"signed_out_url": "evil.test"},
    ],
)
def test_bad_session_and_portal_settings_are_refused(web: dict[str, object]) -> None:
    name = next(iter(web))
    with pytest.raises(ConfigError, match=rf"web\.{name}"):
        load_config(None, env={}, overrides={"web": web})


def test_eleven_hours_of_requests_every_20_minutes_keep_the_session(
    make_gate: AppFactory,
) -> None:
    g = make_gate()
    assert g.login().status_code == 303
    for _ in range(11 * 3):
        g.clock.advance(20 * 60)
        r = g.client.get("/auth")
        assert r.status_code == 200, "the session ended while in use"
        assert r.headers["remote-user"] == "alice"
    # Idle for longer than 30 minutes: over.
    g.clock.advance(30 * 60 + 1)
    assert g.client.get("/auth").status_code == 401


def test_the_maximum_ends_even_a_busy_session(make_gate: AppFactory) -> None:
    g = make_gate()
    g.login()
    elapsed = 0
    while elapsed + 20 * 60 < 12 * 3600:
        g.clock.advance(20 * 60)
        elapsed += 20 * 60
        assert g.client.get("/auth").status_code == 200
    g.clock.advance(12 * 3600 - elapsed + 1)
    assert g.client.get("/auth").status_code == 401


def test_idle_time_ends_it_and_a_request_in_time_extends_it(make_gate: AppFactory) -> None:
    g = make_gate()
    g.login()
    g.clock.advance(29 * 60)
    assert g.client.get("/auth").status_code == 200  # slides: 29 more minutes are fine
    g.clock.advance(29 * 60)
    assert g.client.get("/auth").status_code == 200
    g.clock.advance(31 * 60)
    assert g.client.get("/auth").status_code == 401


def test_a_post_after_the_linger_is_still_let_through(make_gate: AppFactory) -> None:
    # The issue: agents were sent to the login page every 10 minutes (the
    # Basic linger), losing the form they had just posted.
    g = make_gate(auth={"max_linger": 600.0})
    g.login()
    g.clock.advance(15 * 60)
    assert g.client.post("/auth", content=b"reply=hi").status_code == 200
