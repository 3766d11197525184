"""``/admin`` (the user list) and ``/admin/users/<name>`` (one user).

The list is a keyset page from :meth:`otpgate.store.base.Store.list_users`
(through :meth:`otpgate.accounts.administration.Administration.users`):
a name prefix and filters go to the store, and "next page" carries the last
name shown, so a page costs the same with ten users or a million.  Invited
users who have not enrolled yet are not users of the store: that filter
lists their open invitations instead.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..._limits import MAX_USER, has_control
from ...accounts.authenticators import listing_of
from ...audit.reader import AuditQuery, search
from ...audit.writer import iso_utc
from ...store.base import UserStore
from ...store.query import FAR, TOKEN_KINDS, UserFilter, token_kind
from ...store.records import UserRecord
from .base import AdminBase, Ctx

__all__ = ["STATES", "Row", "UserPages", "shown", "when"]

PAGE: Final = 50
STATES: Final = ("locked", "throttled", "invited", "never")
# Messages a redirect after an action may ask the user page or list to show.
DONE: Final = {
    "locked": "Locked. Their sessions have ended.",
    "unlocked": "Unlocked.",
    "resynced": "Token resynchronised.",
    "removed": "User removed.",
    "role": "Role changed.",
    "revoked": "Open links revoked.",
    "token-removed": "Authenticator removed. It no longer signs in.",
}


def when(ts: float | None) -> str:
    """``2026-12-02 07:15 UTC`` (minutes are enough for people)."""
    if ts is None or not math.isfinite(ts):
        return ""
    return iso_utc(ts)[:16].replace("T", " ") + " UTC"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the user list."""

    name: str
    kind: str
    serial: str
    last_auth: str
    last_ip: str
    failures: int
    locked: bool
    throttled_until: str
    invited_until: str = ""

    @classmethod
    def of(cls, r: UserRecord, now: float) -> Row:
        s = r.state
        until = s.locked_until
        return cls(
            r.username,
            token_kind(r.token_type) if r.has_token else "",
            r.serial or "",
            when(s.last_auth),
            s.last_ip or "",
            s.failures,
            until is not None and until > FAR,
            when(until) if until is not None and now < until <= FAR else "",
        )

    @classmethod
    def invited(cls, name: str, until: str) -> Row:
        """A new user with an open link, valid ``until``."""
        return cls(name, "", "", "", "", 0, False, "", invited_until=until)


_SHOWN: Final = ("ts", "user", "kind", "action", "result", "actor", "via", "ip", "detail", "reason")


def shown(lines: list[dict[str, object]]) -> list[dict[str, str]]:
    """Audit lines with every field a page shows, as text (absent ones empty)."""
    out = []
    for line in lines:
        row = {k: "" if line.get(k) is None else str(line.get(k)) for k in _SHOWN}
        row["token"] = str(line.get("token") or "")
        out.append(row)
    return out


def _text_arg(request: Request, name: str) -> str | None:
    """A query parameter, or ``None`` if it is not a plausible name (length, control chars)."""
    value = request.query_params.get(name, "")
    if len(value) > MAX_USER or has_control(value):
        return None
    return value


class UserPages:
    """The user list and the user page."""

    def __init__(self, base: AdminBase) -> None:
        self.base = base

    async def users(self, request: Request, ctx: Ctx) -> Response:
        q, after = _text_arg(request, "q"), _text_arg(request, "after")
        state = request.query_params.get("state", "")
        kind = request.query_params.get("kind", "")
        if (
            q is None
            or after is None
            or state not in ("", *STATES)
            or kind not in ("", *TOKEN_KINDS)
        ):
            return self.base.page(request, ctx, "users.html", 400, **_empty(ctx, "Bad search."))
        q = q.strip()
        admin = self.base.admin
        if state == "invited":
            pending = await run_in_threadpool(
                lambda: admin.invited(q, after=after, limit=PAGE + 1, now=ctx.now)
            )
            rows = [Row.invited(name, when(expires)) for name, expires in pending.items()]
        else:
            f = UserFilter(
                locked=state == "locked",
                throttled=state == "throttled",
                never_signed_in=state == "never",
                kind=kind,
                now=ctx.now,
            )
            found = await run_in_threadpool(
                lambda: admin.users(q, after=after or None, limit=PAGE + 1, filters=f)
            )
            rows = [Row.of(r, ctx.now) for r in found]
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        params = {"q": q, "state": state, "kind": kind}
        next_url = ""
        if more:
            next_url = "?" + urllib.parse.urlencode({**params, "after": rows[-1].name})
        return self.base.page(
            request,
            ctx,
            "users.html",
            rows=rows,
            q=q,
            state=state,
            kind=kind,
            first=not after,
            first_url="?" + urllib.parse.urlencode(params),
            next_url=next_url,
            message=DONE.get(request.query_params.get("done", "")),
            kinds=TOKEN_KINDS,
        )

    async def user(self, request: Request, ctx: Ctx) -> Response:
        name = request.path_params["name"]
        store = self.base.store
        record = await run_in_threadpool(store.get, name)
        if record is None:
            return self.base.page(request, ctx, "users.html", 404, **_empty(ctx, "No such user."))
        role = await run_in_threadpool(store.get_role, name)
        links = await run_in_threadpool(self.base.admin.open_links, name, ctx.now)
        path = self.base.audit_path()
        lines = []
        if path:
            found = await run_in_threadpool(search, path, AuditQuery(user=name), limit=15)
            lines = shown(found.lines)
        s = record.state
        return self.base.page(
            request,
            ctx,
            "user.html",
            u=Row.of(record, ctx.now),
            token_type=record.token_type,
            tokens=await run_in_threadpool(_authenticator_rows, store, record),
            pin_kind=record.pin.kind,
            role=role,
            links=[when(i.expires) for i in links],
            revoked_before=when(s.revoked_before),
            lines=lines,
            audit_on=bool(path),
            message=DONE.get(request.query_params.get("done", "")),
            self_page=name == ctx.admin,
        )


def _authenticator_rows(store: UserStore, record: UserRecord) -> list[dict[str, object]]:
    """Every authenticator of the user, tokens and passkeys, oldest first (never a key)."""
    tokens = {t.meta.id: t for t in record.tokens()}
    rows: list[dict[str, object]] = []
    for info in listing_of(store, record):
        token = tokens.get(info.id)
        rows.append(
            {
                "id": info.id,
                "name": info.name,
                "kind": info.kind,
                # A token's type in words; a passkey has none.
                "type": token.token_type if token is not None else None,
                "serial": (token.serial if token is not None else None) or "-",
                "added": when(info.created or None),
                "used": when(info.last_used),
            }
        )
    return rows


def _empty(ctx: Ctx, message: str) -> dict[str, object]:
    return {
        "rows": [],
        "q": "",
        "state": "",
        "kind": "",
        "first": True,
        "first_url": "?",
        "next_url": "",
        "message": message,
        "message_kind": "error",
        "kinds": TOKEN_KINDS,
    }
