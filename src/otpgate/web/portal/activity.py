"""A user's recent sign-ins and when their token was enrolled, read back from the audit log.

The account page shows them so that a user notices a sign-in that was not
theirs, and knows which token they have.  The file is read backwards from
its end (:func:`otpgate.audit.reader.lines_backwards`) and no further than a
byte budget; only fresh, accepted logins of that user are sign-ins
(lingering re-checks and refusals would drown them).  The enrolment is the
newest line that gave the user their token: a confirmed enrolment link, a
reset, or ``otpgate user add`` / ``replace-token``.  The store keeps no such
date (a users file has no place for it), so a token enrolled before the
lines read is "not recorded".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

from ...accounts.selfservice import Event
from ...audit.reader import lines_backwards

__all__ = ["Activity", "SignIn", "account_activity", "recent_signins"]

MAX_BYTES: Final = 1024 * 1024
_HOW: Final = {"otp": "one-time code", "recovery": "recovery code", "passkey": "passkey"}
_ENROLLED: Final = frozenset({Event.ENROLLED, Event.TOKEN_REPLACED})
_ENROLLED_BY_ADMIN: Final = frozenset({"add", "replace_token"})


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in: when (UTC, to the minute), from where, how (a message id)."""

    when: str
    ip: str
    how: str


@dataclass(slots=True)
class Activity:
    """The newest sign-ins, newest first, and when the token was enrolled (UTC) if found."""

    signins: list[SignIn] = field(default_factory=list)
    enrolled: str | None = None


def _minute(line: dict[str, object]) -> str:
    return str(line.get("ts", ""))[:16].replace("T", " ")


def _enrolment(line: dict[str, object]) -> bool:
    if line.get("kind") == "admin":
        return line.get("action") in _ENROLLED_BY_ADMIN and line.get("result") == "ok"
    return line.get("reason") in _ENROLLED


def account_activity(path: str, user: str, limit: int = 10, max_bytes: int = MAX_BYTES) -> Activity:
    """The ``limit`` newest fresh sign-ins of ``user`` and their enrolment time.

    A missing or unreadable file gives nothing: the page must not fail for
    the log's sake.
    """
    found = Activity()
    # The writer escapes to ASCII, so the name's JSON form is in every line of the user.
    needle = b'"user":' + json.dumps(user, ensure_ascii=True).encode()
    try:
        for _, raw in lines_backwards(path, max_bytes=max_bytes):
            if needle not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # the first line may be cut; a foreign line is skipped
            if not isinstance(line, dict) or line.get("user") != user:
                continue
            how = _HOW.get(str(line.get("reason")))
            fresh = line.get("result") == "accept" and line.get("fresh")
            if fresh and how is not None and len(found.signins) < limit:
                found.signins.append(SignIn(_minute(line), str(line.get("ip") or "-"), how))
            if found.enrolled is None and _enrolment(line):
                found.enrolled = _minute(line)
            if found.enrolled is not None and len(found.signins) >= limit:
                break
    except OSError:
        return Activity()
    return found


def recent_signins(path: str, user: str, limit: int = 10) -> list[SignIn]:
    """The newest ``limit`` fresh sign-ins of ``user``, newest first."""
    return account_activity(path, user, limit).signins
