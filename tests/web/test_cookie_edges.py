"""The web cookies' time limits at their exact edges, with the injected clock.

Unlike the login rules' windows (tests/login/test_window_edges.py), a portal
session and a device cookie stand through their last instant: a session of
``session_lifetime`` seconds issued at ``t`` is still good at ``t +
session_lifetime`` and over one instant later; the same for
``session_idle`` after the last request and for a device cookie's lifetime.
A cookie issued up to ``CLOCK_SKEW`` seconds in the future (another gate
host's clock) is accepted, one instant more is not.
"""

from __future__ import annotations

import math

from otpgate.web.devices import DeviceCodec
from otpgate.web.sessions import CLOCK_SKEW, Session, SessionCodec

from .conftest import T0, AppFactory

SECRETS = [b"s" * 32]


def after(t: float) -> float:
    """The first instant after ``t``."""
    return math.nextafter(t, math.inf)


def before(t: float) -> float:
    """The last instant before ``t``."""
    return math.nextafter(t, -math.inf)


def test_session_lifetime_ends_one_instant_after_exactly_lifetime() -> None:
    codec = SessionCodec(SECRETS, lifetime=3600.0, max_idle=None)
    cookie = codec.encode(Session("alice", T0, T0, "192.0.2.1"))
    assert codec.decode(cookie, T0 + 3600) is not None
    assert codec.decode(cookie, after(T0 + 3600)) is None


def test_session_idle_ends_one_instant_after_exactly_max_idle() -> None:
    codec = SessionCodec(SECRETS, lifetime=3600.0, max_idle=600.0)
    # Seen last at +1000 (a refreshed cookie): idle counts from there.
    cookie = codec.encode(Session("alice", T0, T0 + 1000, "192.0.2.1"))
    assert codec.decode(cookie, T0 + 1600) is not None
    assert codec.decode(cookie, after(T0 + 1600)) is None


def test_session_issued_in_the_future_by_at_most_clock_skew() -> None:
    codec = SessionCodec(SECRETS, lifetime=3600.0, max_idle=600.0)
    cookie = codec.encode(Session("alice", T0, T0, "192.0.2.1"))
    assert codec.decode(cookie, T0 - CLOCK_SKEW) is not None
    assert codec.decode(cookie, before(T0 - CLOCK_SKEW)) is None


def test_device_cookie_lifetime_ends_one_instant_after_exactly_lifetime() -> None:
    codec = DeviceCodec(SECRETS, lifetime=86_400.0)
    cookie = codec.issue("alice", "binding", T0)
    claim = codec.claim(cookie, "alice", T0 + 86_400)
    assert claim is not None
    assert codec.claim(cookie, "alice", after(T0 + 86_400)) is None
    # Issued by a host whose clock is ahead: up to 60 s.
    assert codec.claim(cookie, "alice", T0 - 60) == claim
    assert codec.claim(cookie, "alice", before(T0 - 60)) is None


def test_portal_session_idle_edge_through_the_gate(make_gate: AppFactory) -> None:
    for at, status in ((T0 + 1800, 200), (after(T0 + 1800), 401)):
        g = make_gate()
        assert g.login().status_code == 303
        g.clock.now = at
        assert g.client.get("/auth").status_code == status, at - T0


def test_portal_session_lifetime_edge_through_the_gate(make_gate: AppFactory) -> None:
    for end, status in ((T0 + 12 * 3600, 200), (after(T0 + 12 * 3600), 401)):
        g = make_gate()
        g.login()
        while g.clock.now + 1200 < end:  # busy: a request every 20 minutes
            g.clock.advance(1200)
            assert g.client.get("/auth").status_code == 200
        g.clock.now = end
        assert g.client.get("/auth").status_code == status, end - T0
