"""Authenticator ids are typed on command lines: none starts with ``-``.

``otpgate token remove USER ID`` with an id such as ``-x3...`` would be taken
for an option by argparse (a random id starts with ``-`` one time in 64).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from otpgate.store.authenticators import new_token_id
from otpgate.store.passkeys import new_passkey_id


@pytest.mark.parametrize("make", [new_token_id, new_passkey_id])
def test_an_id_never_starts_with_a_dash(
    make: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["-dash-first", "-again", "fine-id"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    assert make() == "fine-id"
