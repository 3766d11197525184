"""The web's secrets are compared with ``hmac.compare_digest`` (tests/login/test_constant_time.py).

API keys (every configured key, no early exit), the CSRF token's signed
nonce against the cookie's, and a session's binding to its user record.
"""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous.encoding import base64_decode

from compare_spy import Comparisons
from otpgate.web.sessions import CsrfGuard, Session, SessionCodec

from .conftest import API_KEY, KEY, PIN, T0, AppFactory, code


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Comparisons:
    return Comparisons(monkeypatch)


@pytest.mark.parametrize("given", [API_KEY, "w" * 40])
def test_every_api_key_is_compared_in_constant_time(
    compared: Comparisons, make_gate: AppFactory, given: str
) -> None:
    g = make_gate(api_keys=[API_KEY, "o" * 40, "p" * 40])
    r = g.client.post(
        "/api/v1/check",
        json={"user": "alice", "password": PIN + code(g.clock)},
        headers={"X-API-Key": given},
    )
    assert r.status_code == (200 if given == API_KEY else 403)
    digest = hashlib.sha256(given.encode()).digest()
    # Three keys configured, three comparisons, whichever matched (the first here).
    assert compared.with_operand(digest) == 3


def test_the_csrf_nonce_is_compared_in_constant_time(compared: Comparisons) -> None:
    # The form token is a MAC over the nonce (and the session): the check
    # compares the token sent with the one the nonce makes, in constant time.
    guard = CsrfGuard([b"s" * 32])
    nonce, other = guard.new_nonce(), guard.new_nonce()
    token = guard.token(nonce, None)
    sent = base64_decode(token)
    assert guard.check(nonce, token, None)
    assert compared.saw(sent, sent)
    compared.clear()
    assert not guard.check(other, token, None)
    assert compared.saw(sent, base64_decode(guard.token(other, None)))


def test_the_session_binding_is_compared_in_constant_time(compared: Comparisons) -> None:
    codec = SessionCodec([b"s" * 32], lifetime=3600.0, max_idle=None)
    binding = codec.binding(KEY)
    assert codec.bound(Session("alice", T0, T0, "192.0.2.1", binding), KEY)
    assert compared.saw(binding, binding)
