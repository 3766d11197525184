"""Records every call of :func:`hmac.compare_digest` (tests/login/test_constant_time.py).

Why a recorder and not a scan of the source for ``==``: replacing
``hmac.compare_digest`` by ``==`` in a secret comparison changes no answer,
only the time an answer takes, so no behavioural test notices it.  What a
test can see is whether the comparison went through the constant-time
function *with the secret as an operand*.  This wraps the real function (the
answers stay the real ones) and keeps the operands, so each test asserts
that the secret it sent was compared there.  A source scan would flag
innocent ``==`` (a PIN policy refusing a PIN equal to the user name, a
``pin == ""`` for users without a PIN) and miss a secret compared through
another name or a helper; the recorder follows the real path, whatever it
is called.

Code that bound ``hmac.compare_digest`` to a name at import time would not
be seen: the tests install the recorder first and build what they check
(tokens, checkers, apps) afterwards; in otpgate only the token's code finder
binds it, when a :class:`~otpgate.otp.tokens.Token` is made.
"""

from __future__ import annotations

import hmac

import pytest

_Operand = str | bytes | bytearray | memoryview


def _as_bytes(value: _Operand) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return bytes(value)


class Comparisons:
    """The operands of every ``hmac.compare_digest`` call while installed, as bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        original = hmac.compare_digest

        def recording(a: _Operand, b: _Operand) -> bool:
            self.calls.append((_as_bytes(a), _as_bytes(b)))
            return original(a, b)

        monkeypatch.setattr(hmac, "compare_digest", recording)

    def count(self, a: _Operand, b: _Operand) -> int:
        """How many calls compared ``a`` with ``b`` (either order)."""
        pair, swapped = (_as_bytes(a), _as_bytes(b)), (_as_bytes(b), _as_bytes(a))
        return sum(1 for call in self.calls if call in (pair, swapped))

    def saw(self, a: _Operand, b: _Operand) -> bool:
        """Whether ``a`` was compared with ``b`` in constant time."""
        return self.count(a, b) > 0

    def with_operand(self, x: _Operand) -> int:
        """How many calls had ``x`` as one operand."""
        v = _as_bytes(x)
        return sum(1 for call in self.calls if v in call)

    def clear(self) -> None:
        self.calls.clear()
