"""The rules a setting's value must follow, one per field where it is declared.

A rule takes the value (already of the setting's kind, never ``None``) and
returns what is wrong with it, said after the setting's name
(``"must be a non-negative number"``), or ``None`` when nothing is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection
from typing import Any, Final

__all__ = [
    "COUNT",
    "NETWORKS",
    "NON_NEGATIVE",
    "POSITIVE",
    "URL_OR_PATH",
    "Rule",
    "at_least",
    "between",
    "one_of",
    "rule",
]

Rule = Callable[[Any], str | None]


def rule(test: Callable[[Any], bool], says: str) -> Rule:
    """A rule from a test: ``says`` when the value fails it."""

    def check(value: Any) -> str | None:
        return None if test(value) else says

    return check


# ``not v >= 0`` holds for NaN too: nan is no number of seconds.
NON_NEGATIVE: Final = rule(lambda v: v >= 0, "must be a non-negative number")
COUNT: Final = rule(lambda v: v >= 0, "must be a non-negative whole number")
POSITIVE: Final = rule(lambda v: v > 0, "must be positive")
URL_OR_PATH: Final = rule(
    lambda v: not v or v.startswith(("http://", "https://", "/")),
    "must be an http(s) URL or start with /",
)


def at_least(low: float, says: str) -> Rule:
    return rule(lambda v: v >= low, says)


def between(low: float, high: float, says: str) -> Rule:
    """``low <= value <= high``."""
    return rule(lambda v: low <= v <= high, says)


def one_of(choices: Collection[object], says: str) -> Rule:
    return rule(lambda v: v in choices, says)


def _not_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return True
    return False


def _networks(values: Collection[str]) -> str | None:
    bad = [v for v in values if _not_network(v)]
    return f"must be addresses or networks, not {', '.join(bad)}" if bad else None


NETWORKS: Final[Rule] = _networks
