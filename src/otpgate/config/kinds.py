"""How a setting's value is read: a TOML value checked as typed, or text parsed.

Text comes from ``OTPGATE_*`` environment variables; TOML values (and the
command line's) are taken as they are typed, never coerced.  A setting's kind
follows from its annotation (:data:`KINDS`), so each field has one type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["KINDS", "Kind", "kind_of", "parse_bool"]


def parse_bool(text: str) -> bool:
    """``on``/``off``, ``true``/``false``, ``yes``/``no``, ``1``/``0``, any case.

    Raises:
        ValueError: none of these.
    """
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected on/off, true/false, not {text!r}")


def _texts(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value: Any) -> object:
    return value


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of value.

    Attributes:
        expected: what a wrong TOML value is told it should have been.
        accepts: whether a typed value is of this kind.
        parse: the value from text (``ValueError`` when it is not one).
        cast: a typed value as the setting keeps it (an integer as a float).
    """

    expected: str
    accepts: Callable[[object], bool]
    parse: Callable[[str], object]
    cast: Callable[[Any], object] = _same

    def read(self, value: object, from_text: bool) -> object:
        """The value, checked (TOML) or parsed (text).

        Raises:
            ValueError: not of this kind (the message says what was expected).
        """
        if not from_text:
            if not self.accepts(value):
                raise ValueError(f"expected {self.expected}")
            return self.cast(value)
        try:
            return self.parse(str(value))
        except ValueError as exc:
            if "expected" in str(exc):
                raise
            raise ValueError(f"expected {self.expected}, not {value!r}") from None


# The kinds by annotation; ``X | None`` is X or none (kind_of).
KINDS: Final[dict[str, Kind]] = {
    "bool": Kind("true or false", lambda v: isinstance(v, bool), parse_bool),
    "int": Kind("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool), int),
    "float": Kind("a number", _number, float, float),
    "str": Kind("a string", lambda v: isinstance(v, str), str),
    "tuple[str, ...]": Kind(
        "a list of strings",
        lambda v: isinstance(v, list | tuple) and all(isinstance(s, str) for s in v),
        _texts,
        tuple,
    ),
}


def kind_of(annotation: object) -> tuple[Kind, bool]:
    """A field's kind and whether it may be none, from its annotation (a string).

    Raises:
        TypeError: a type no setting may have (a programming error).
    """
    text = str(annotation)
    optional = text.endswith(" | None")
    kind = KINDS.get(text.removesuffix(" | None"))
    if kind is None:
        raise TypeError(f"a setting cannot have the type {text!r}")
    return kind, optional
