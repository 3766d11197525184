"""The ``[state]`` table: what several gate processes and hosts share besides the store."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StateSettings"]


@dataclass(frozen=True, slots=True)
class StateSettings:
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

    url: str | None = field(default=None, repr=False)
    key_prefix: str = "otpgate:"
    timeout: float = 0.25

    def __post_init__(self) -> None:
        from ..state import check_settings

        check_settings(self.url, self.key_prefix, self.timeout)
