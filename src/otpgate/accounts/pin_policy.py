"""Which PINs a user may choose: the rules, pure and separate from any page.

A PIN is the factor a user remembers; with the one-time code it is tried
online only (the throttle limits guesses), so the rules stop the choices an
attacker tries first rather than demanding complexity: too short, one
character repeated (``000000``, ``aaaaaa``), a straight run (``123456``,
``654321``), the user's own name, or one of the most common PINs and
passwords (``password``, ``1984``, ``112233``: a list shipped with the
package, ``common_pins.txt``, whose header names its sources; NIST SP
800-63B asks for such a blocklist).  Problems come back as codes, so each
front end says them in its own language.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Final

from .._limits import has_control

__all__ = ["COMMON_PINS", "PinPolicy", "PinProblem", "is_common"]

MAX_PIN: Final = 64
# The blocklist, a data file of this package (pyproject.toml's package-data).
COMMON_PINS: Final = "common_pins.txt"


class PinProblem(StrEnum):
    """Why a PIN was refused."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    REPEATED = "repeated"  # one character, repeated
    SEQUENCE = "sequence"  # 123456, 654321, abcdef
    USER_NAME = "user_name"  # the user name, or contains it
    COMMON = "common"  # among the most commonly used PINs and passwords
    CONTROL = "control"  # control characters, or spaces around it
    MISMATCH = "mismatch"  # the two entries differ


@dataclass(frozen=True, slots=True)
class PinPolicy:
    """The rules for a new PIN.

    Attributes:
        min_length: the fewest characters.
        max_length: the most characters.
    """

    min_length: int = 6
    max_length: int = MAX_PIN

    def __post_init__(self) -> None:
        if not 4 <= self.min_length <= self.max_length <= MAX_PIN:
            raise ValueError(f"PIN lengths must satisfy 4 <= min <= max <= {MAX_PIN}")

    def problems(self, pin: str, username: str, again: str | None = None) -> list[PinProblem]:
        """Every rule ``pin`` breaks (empty if it is acceptable).

        Args:
            pin: the PIN as typed.
            username: whose PIN it is to be.
            again: the confirmation field, if the form has one.
        """
        found: list[PinProblem] = []
        if has_control(pin) or pin != pin.strip():
            found.append(PinProblem.CONTROL)
        if len(pin) < self.min_length:
            found.append(PinProblem.TOO_SHORT)
        if len(pin) > self.max_length:
            found.append(PinProblem.TOO_LONG)
        if pin and len(set(pin)) == 1:
            found.append(PinProblem.REPEATED)
        elif len(pin) >= 3 and _is_run(pin):
            found.append(PinProblem.SEQUENCE)
        elif is_common(pin):
            found.append(PinProblem.COMMON)
        name = username.casefold()
        if name and (name in pin.casefold() if len(name) >= 3 else pin.casefold() == name):
            found.append(PinProblem.USER_NAME)
        if again is not None and again != pin:
            found.append(PinProblem.MISMATCH)
        return found


def _is_run(pin: str) -> bool:
    """``1234``, ``4321``, ``abcd``: each character one more (or less) than the last."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {-1})


def is_common(pin: str) -> bool:
    """Whether ``pin`` is on the list of common PINs and passwords, in any case."""
    return pin.casefold() in _common()


@functools.cache
def _common() -> frozenset[str]:
    """The blocklist, read once from the package's data file."""
    text = resources.files(__package__).joinpath(COMMON_PINS).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))
