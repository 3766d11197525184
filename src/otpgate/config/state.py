"""The ``[state]`` table: what several gate processes and hosts share besides the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .rules import rule
from .schema import Section, setting

__all__ = ["FORMS", "REDIS_SCHEMES", "StateSettings"]

REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")
FORMS: Final = "redis://host:port/db (or rediss://, unix://) or sqlite:///PATH"


def _known_url(url: str) -> bool:
    return url in ("", "local", "local:") or url.startswith((*REDIS_SCHEMES, "sqlite:///"))


@dataclass(frozen=True, slots=True)
class StateSettings(Section):
    """Where the shared state lives (docs/scaling.md).

    Attributes:
        url: empty (the default): kept in each process; ``redis://host:port/db``
            (``rediss://``, ``unix://``): shared through Redis; ``sqlite:///PATH``:
            the throttle shared by the processes of one host through that file.
        key_prefix: put before every Redis key and channel.
        timeout: seconds a Redis connect or command may take before the gate
            goes on without it.

    Raises:
        ValueError: a bad value (all problems in one message).
    """

    url: str | None = setting(None, rule(_known_url, f"must be {FORMS} or empty"), secret=True)
    key_prefix: str = setting(
        "otpgate:",
        rule(
            lambda v: bool(v) and not any(c.isspace() for c in v),
            "must be non-empty, without spaces",
        ),
    )
    timeout: float = setting(
        0.25,
        rule(lambda v: 0 < v <= 10, "must be more than 0 and at most 10 seconds"),
    )
