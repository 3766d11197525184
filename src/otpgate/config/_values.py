"""One setting's value: a TOML value checked against its type, or text parsed into it.

Text comes from ``OTPGATE_*`` environment variables and mod_authn_otp
directives; TOML values are taken as they are typed, never coerced.
"""

from __future__ import annotations

import types
import typing
from typing import Any

__all__ = ["convert", "parse_bool"]


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


def convert(value: object, hint: Any, from_text: bool) -> object:
    """Check (TOML) or parse (environment text) one value against a type hint."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (from_text and str(value).strip().lower() in ("", "none", "off")):
            return None
        return convert(value, args[0], from_text)
    if origin is tuple:
        if from_text:
            assert isinstance(value, str)
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if hint is bool:
        if from_text:
            return parse_bool(str(value))
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if hint is int:
        if from_text:
            return int(str(value))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number")
        return value
    if hint is float:
        if from_text:
            return float(str(value))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    raise TypeError(f"unsupported setting type {hint!r}")  # a programming error
