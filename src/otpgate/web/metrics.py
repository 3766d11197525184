"""Prometheus text exposition, by hand.

Three families do not justify a dependency: decisions by front end and
result, throttled answers, and a latency histogram.
"""

from __future__ import annotations

import bisect
import threading
from typing import Final

__all__ = ["Metrics"]

BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Thread-safe counters; :meth:`render` writes the text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str], int] = {}
        self._throttled = 0
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def record(self, frontend: str, result: str, seconds: float, throttled: bool) -> None:
        """Count one decision.

        Args:
            frontend: ``auth``, ``login``, ``api`` or ``logout``.
            result: the decision's reason (``otp``, ``linger``, ``session``, ...).
            seconds: how long the decision took.
            throttled: whether it was answered with a retry delay.
        """
        with self._lock:
            key = (frontend, result)
            self._decisions[key] = self._decisions.get(key, 0) + 1
            if throttled:
                self._throttled += 1
            counts = self._buckets.setdefault(frontend, [0] * (len(BUCKETS) + 1))
            counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._sums[frontend] = self._sums.get(frontend, 0.0) + seconds

    def decisions(self, frontend: str, result: str) -> int:
        with self._lock:
            return self._decisions.get((frontend, result), 0)

    def render(self) -> str:
        lines = [
            "# HELP otpgate_decisions_total Login decisions by front end and result.",
            "# TYPE otpgate_decisions_total counter",
        ]
        with self._lock:
            for (frontend, result), n in sorted(self._decisions.items()):
                lines.append(
                    f'otpgate_decisions_total{{frontend="{_label(frontend)}",'
                    f'result="{_label(result)}"}} {n}'
                )
            lines += [
                "# HELP otpgate_throttled_total Attempts answered with a retry delay.",
                "# TYPE otpgate_throttled_total counter",
                f"otpgate_throttled_total {self._throttled}",
                "# HELP otpgate_decision_seconds Time to reach a decision.",
                "# TYPE otpgate_decision_seconds histogram",
            ]
            for frontend, counts in sorted(self._buckets.items()):
                f = _label(frontend)
                running = 0
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    running += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(
                        f'otpgate_decision_seconds_bucket{{frontend="{f}",le="{le}"}} {running}'
                    )
                lines.append(
                    f'otpgate_decision_seconds_sum{{frontend="{f}"}} {self._sums[frontend]}'
                )
                lines.append(f'otpgate_decision_seconds_count{{frontend="{f}"}} {running}')
        return "\n".join(lines) + "\n"
