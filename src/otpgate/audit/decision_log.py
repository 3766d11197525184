"""The gate's own log: how it is formatted, and one line per login decision.

``web.log_format = "json"`` makes every line -- uvicorn's messages, the
access log when on, otpgate's own warnings and the decision lines -- one JSON
object (``ts``, ``level``, ``logger``, ``msg`` and, for decisions, ``event``,
``frontend``, ``result``, ``reason``, ``user``, ``ip``, ``retry_after``), so
journald and log collectors can read the fields.  ``text`` (the default) is
uvicorn's plain format.

``serve`` says where it listens, which store and which shared state it uses
in one line on the logger ``otpgate.serve``, shown at every level but
``error`` and ``critical``.  Decisions are logged at info on the logger
``otpgate.decision``, so they show with ``serve --log-level info``; a
lingering credential accepted again is not a new decision (it is the hot
path, and the audit log skips it too unless ``auth.audit_linger``).  Never a
PIN, code, password, key or secret: only the fields named above (store and
state URLs with their passwords masked), and client-supplied text is cut to
:data:`MAX_USER`.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any, Final

from .._limits import MAX_USER
from .writer import iso_utc

__all__ = [
    "DECISION_LOG",
    "FORMATS",
    "LINGER",
    "START_LOG",
    "JSONFormatter",
    "log_decision",
    "logging_config",
]

FORMATS: Final = ("text", "json")
DECISION_LOG: Final = logging.getLogger("otpgate.decision")

LINGER: Final = "linger"
"""``otpgate.login.reasons.Reason.LINGER`` (a str): a lingering re-use is not a new
decision.  The audit log sits below the login package and does not import it;
tests/audit checks that the two agree."""

START_LOG: Final = logging.getLogger("otpgate.serve")


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": iso_utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "otpgate", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=True, separators=(",", ":"), default=str)


def log_decision(
    frontend: str, user: str, ip: str, ok: bool, reason: str, retry_after: float | None
) -> None:
    """One info line for a login decision (nothing when info is not enabled)."""
    if ok and reason == LINGER:
        return
    if not DECISION_LOG.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {
        "event": "decision",
        "frontend": frontend,
        "result": "accept" if ok else "reject",
        "reason": str(reason),
        "user": user[:MAX_USER],
        "ip": ip,
    }
    if retry_after is not None and not ok:
        fields["retry_after"] = retry_after
    DECISION_LOG.info(
        "%s %s user=%r ip=%s reason=%s",
        frontend,
        fields["result"],
        fields["user"],
        ip,
        fields["reason"],
        extra={"otpgate": fields},
    )


def logging_config(log_level: str, access_log: bool, log_format: str = "text") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for ``serve``: uvicorn's loggers and otpgate's.

    The level applies to uvicorn's own messages and to otpgate's loggers;
    uvicorn's ``log_level`` would also raise the access logger's and silence
    ``--access-log`` under the default ``warning``, so the access log (when on)
    logs at info regardless.
    """
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    level = log_level.upper()
    loggers = config["loggers"]
    loggers["uvicorn"]["level"] = level
    loggers["uvicorn.error"]["level"] = level
    loggers["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    loggers["otpgate"] = {"handlers": ["default"], "level": level, "propagate": False}
    # serve's one line saying where it listens: shown at the default level too,
    # silenced only when just errors are asked for.
    loggers[START_LOG.name] = {
        "handlers": ["default"],
        "level": "INFO" if level == "WARNING" else level,
        "propagate": False,
    }
    if log_format == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": f"{__name__}.JSONFormatter"}
    return config
