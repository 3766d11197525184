"""Guessing through ``/validate/check``: the same throttle and guess budget as every front end."""

from __future__ import annotations

from typing import Any

from .conftest import PIN, Pi, code

BUDGET = 100  # AuthSettings().guess_budget
FREE = 3  # AuthSettings().throttle_free_failures


def _value(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_one_address_is_throttled_and_then_even_the_right_code_waits(pi: Pi) -> None:
    for _ in range(FREE + 1):
        assert _value(pi.check(user="alice", **{"pass": PIN + "000000"}))["value"] is False
    assert _value(pi.check(user="alice", **{"pass": pi.good()}))["value"] is False
    assert pi.metrics().decisions("privacyidea", "throttled") >= 1


def test_many_addresses_share_the_users_budget(make_pi: Any) -> None:
    pi: Pi = make_pi(web={"trusted_proxies": ["127.0.0.1"]})
    for i in range(BUDGET + 20):
        client = f"10.9.{i // 250}.{i % 250}"
        pi.check(user="alice", client=client, **{"pass": PIN + "000000"})
    evaluated = pi.metrics().decisions("privacyidea", "no_match")
    assert evaluated <= BUDGET
    assert pi.metrics().decisions("privacyidea", "throttled") >= 20
    # The right code from yet another address is refused too, until the budget recovers.
    r = pi.check(user="alice", client="10.8.0.1", **{"pass": pi.good()})
    assert _value(r)["value"] is False


def test_a_client_parameter_from_an_untrusted_peer_is_ignored(make_pi: Any) -> None:
    pi: Pi = make_pi(peer=("192.0.2.7", 5000), web={"trusted_proxies": ["127.0.0.1"]})
    for i in range(FREE + 1):
        pi.check(user="alice", client=f"10.0.0.{i}", **{"pass": PIN + "000000"})
    # Every guess counted against 192.0.2.7: it waits now, whatever it claims.
    r = pi.check(user="alice", client="10.0.0.200", **{"pass": pi.good()})
    assert _value(r)["value"] is False
    assert pi.metrics().decisions("privacyidea", "throttled") >= 1


def test_pin_guesses_through_challenges_cost_guesses(make_pi: Any) -> None:
    pi: Pi = make_pi(challenge_response=True)
    rounds = 0
    for guess in range(FREE + 2):
        first = pi.check(user="alice", **{"pass": f"{guess:04d}"}).json()
        if first["result"]["authentication"] != "CHALLENGE":
            break
        rounds += 1
        tid = first["detail"]["transaction_id"]
        second = pi.check(user="alice", transaction_id=tid, **{"pass": code(pi.clock)})
        assert _value(second)["value"] is False
    # Each round costs the guesser two failures (first leg, second leg).
    assert rounds <= FREE
    # Throttled now: the right PIN gets no challenge, and the right PIN+code no accept.
    assert _value(pi.check(user="alice", **{"pass": PIN}))["authentication"] == "REJECT"
    assert _value(pi.check(user="alice", **{"pass": pi.good()}))["value"] is False


def test_a_right_pin_and_code_reset_the_count(make_pi: Any) -> None:
    pi: Pi = make_pi(challenge_response=True)
    for _ in range(3):
        tid = pi.check(user="alice", **{"pass": PIN}).json()["detail"]["transaction_id"]
        assert _value(pi.check(user="alice", transaction_id=tid, **{"pass": code(pi.clock)}))[
            "value"
        ]
        pi.clock.advance(30)
    # Three challenge logins in a row: the first legs never lock the user out.
    assert pi.metrics().decisions("privacyidea", "throttled") == 0
