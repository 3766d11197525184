"""A user's recent sign-ins, read back from the audit log file.

The account page shows them so that a user notices a sign-in that was not
theirs.  Only the end of the file is read (the newest lines), and only
fresh, accepted logins of that user are shown: lingering re-checks and
refusals would drown them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Final

__all__ = ["SignIn", "recent_signins"]

TAIL_BYTES: Final = 512 * 1024
_HOW: Final = {"otp": "one-time code", "recovery": "recovery code"}


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in: when (UTC, to the minute), from where, how (a message id)."""

    when: str
    ip: str
    how: str


def recent_signins(path: str, user: str, limit: int = 10) -> list[SignIn]:
    """The newest ``limit`` fresh sign-ins of ``user``, newest first.

    A missing or unreadable file gives an empty list: the page must not fail
    for the log's sake.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(size - TAIL_BYTES, 0))
            data = f.read(TAIL_BYTES)
    except OSError:
        return []
    found: list[SignIn] = []
    for raw in reversed(data.splitlines()):
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # the first line may be cut; a foreign line is skipped
        if not isinstance(line, dict) or line.get("user") != user:
            continue
        how = _HOW.get(str(line.get("reason")))
        if line.get("result") != "accept" or not line.get("fresh") or how is None:
            continue
        when = str(line.get("ts", ""))[:16].replace("T", " ")
        found.append(SignIn(when, str(line.get("ip") or "-"), how))
        if len(found) >= limit:
            break
    return found
