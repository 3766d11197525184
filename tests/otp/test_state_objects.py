"""TokenState and Match: built by their own ``__init__`` (for speed), still frozen values.

otp/verify.py fills their slots through the slot descriptors instead of
dataclass's ``object.__setattr__``; what callers rely on must not change: the
defaults, equality and hashing by value, ``dataclasses.replace`` and no
assignment after construction.
"""

from __future__ import annotations

import dataclasses

import pytest

from otpgate.otp.verify import Match, TokenState


def test_token_state_defaults_and_value_semantics() -> None:
    assert (TokenState().counter, TokenState().last_step) == (0, None)
    assert TokenState(3, 7) == TokenState(counter=3, last_step=7) != TokenState(3, 8)
    assert hash(TokenState(3, 7)) == hash(TokenState(3, 7))
    assert dataclasses.replace(TokenState(3, 7), counter=4) == TokenState(4, 7)
    assert repr(TokenState(3, None)) == "TokenState(counter=3, last_step=None)"


def test_match_value_semantics() -> None:
    m = Match(5, TokenState(1, 5), -1)
    assert (m.matched, m.state, m.offset) == (5, TokenState(1, 5), -1)
    assert m == Match(matched=5, state=TokenState(1, 5), offset=-1)
    assert dataclasses.replace(m, offset=0).offset == 0


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        (TokenState(1, 2), "counter"),
        (TokenState(), "last_step"),
        (Match(1, TokenState(), 0), "state"),
    ],
)
def test_they_stay_frozen(obj: object, name: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, name, 9)
    # Slots: no new attributes (Python 3.11's frozen slots dataclass says so with a TypeError).
    with pytest.raises((AttributeError, TypeError)):
        obj.other = 1  # type: ignore[attr-defined]
