"""The gate's Prometheus metrics (prometheus_client).

With several worker processes (``otpgate serve --workers N``) each process
counts for itself and a scrape, answered by any one of them, must still show
the whole gate's totals: prometheus_client's multiprocess mode does that when
``PROMETHEUS_MULTIPROC_DIR`` names a directory (``serve`` sets one up per
run): every process writes its values to files there and ``/metrics`` adds
them up.  Without it (one process), each :class:`Metrics` has a registry of
its own, so several gates in one process (the tests) do not mix.

Families (``result`` is a :class:`~otpgate.login.reasons.Reason`):

* ``otpgate_decisions_total{frontend,result}``, ``otpgate_throttled_total``,
  ``otpgate_decision_seconds{frontend}`` (histogram);
* ``otpgate_store_seconds{op}``, ``otpgate_state_seconds{op}``: store and
  Redis latency (histograms);
* ``otpgate_state_degraded`` (1 while the shared state is unreachable),
  ``otpgate_state_outages_total``;
* ``otpgate_build_info{version,python}`` (always 1).
"""

from __future__ import annotations

import os
import platform
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["BUCKETS", "MULTIPROC_ENV", "Metrics"]

BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Store and Redis calls are shorter than whole decisions.
IO_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0)
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """Counters and histograms of one gate process; thread-safe.

    Where the values go is decided by ``$PROMETHEUS_MULTIPROC_DIR`` as it
    was when prometheus_client was first imported in this process (so
    ``serve`` sets it before it starts the workers).
    """

    def __init__(self) -> None:
        # *_created samples would be one more series per label set, for nothing.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        r = self.registry = CollectorRegistry()
        self._decisions = Counter(
            "otpgate_decisions",
            "Login decisions by front end and result.",
            ["frontend", "result"],
            registry=r,
        )
        self._throttled = Counter(
            "otpgate_throttled", "Attempts answered with a retry delay.", registry=r
        )
        self._seconds = Histogram(
            "otpgate_decision_seconds",
            "Time to reach a decision.",
            ["frontend"],
            buckets=BUCKETS,
            registry=r,
        )
        self._store = _latency("otpgate_store_seconds", "Store calls.", r)
        self._state = _latency("otpgate_state_seconds", "Shared state (Redis) calls.", r)
        self._degraded = Gauge(
            "otpgate_state_degraded",
            "1 while the shared state is unreachable (the gate throttles per process).",
            registry=r,
            multiprocess_mode="max",
        )
        self._outages = Counter(
            "otpgate_state_outages", "Times the shared state became unreachable.", registry=r
        )
        _build_info(r)
        self._throttled.inc(0)
        self._degraded.set(0)
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def record(self, frontend: str, result: str, seconds: float, throttled: bool) -> None:
        """Count one decision.

        Args:
            frontend: ``auth``, ``login``, ``api``, ``logout``, ``privacyidea``
                (``/validate/check``) or ``privacyidea_auth`` (its ``POST /auth``).
            result: the decision's reason (``otp``, ``linger``, ``session``, ...).
            seconds: how long the decision took.
            throttled: whether it was answered with a retry delay.
        """
        # The labelled children, kept here: prometheus_client's labels() takes a
        # lock and checks its arguments on every call, a quarter of a hot-path
        # request's time (docs/benchmarks.md).  Front ends and reasons are few.
        key = (frontend, str(result))
        children = self._children.get(key)
        if children is None:
            children = (self._decisions.labels(*key), self._seconds.labels(frontend))
            self._children[key] = children
        children[0].inc()
        if throttled:
            self._throttled.inc()
        children[1].observe(seconds)

    def store_call(self, op: str, seconds: float) -> None:
        self._store.labels(op).observe(seconds)

    def state_call(self, op: str, seconds: float) -> None:
        self._state.labels(op).observe(seconds)

    def state_changed(self, problem: str | None) -> None:
        """The shared state went away (``problem``) or came back (``None``)."""
        self._degraded.set(0 if problem is None else 1)
        if problem is not None:
            self._outages.inc()

    def decisions(self, frontend: str, result: str) -> int:
        """This process's count (tests)."""
        value = self.registry.get_sample_value(
            "otpgate_decisions_total", {"frontend": frontend, "result": str(result)}
        )
        return int(value or 0)

    def render(self) -> str:
        """The text format: every worker's values added up, or this process's."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
            return generate_latest(registry).decode()
        return generate_latest(self.registry).decode()


def _latency(name: str, text: str, registry: CollectorRegistry) -> Histogram:
    """A histogram of I/O call times by ``op``."""
    return Histogram(name, text, ["op"], buckets=IO_BUCKETS, registry=registry)


def _build_info(registry: CollectorRegistry) -> None:
    """``otpgate_build_info{version,python} 1``."""
    from .. import __version__

    build = Gauge(
        "otpgate_build_info",
        "The running otpgate.",
        ["version", "python"],
        registry=registry,
        multiprocess_mode="max",
    )
    build.labels(__version__, platform.python_version()).set(1)
