"""``/admin/audit`` (the audit log, filtered) and ``/admin/status`` (store, state, counts)."""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..._limits import MAX_USER, has_control
from ...audit.reader import RESULTS, AuditQuery, search
from ...errors import OTPGateError
from .base import AdminBase, Ctx
from .users import shown

__all__ = ["Views"]

PAGE: Final = 50
# What <input type="datetime-local"> sends (seconds optional); read as UTC.
_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?", re.ASCII)


class Views:
    """The audit view and the status page."""

    def __init__(self, base: AdminBase) -> None:
        self.base = base

    async def audit(self, request: Request, ctx: Ctx) -> Response:
        p = request.query_params
        user, result = p.get("user", "").strip(), p.get("result", "")
        since, until, end = p.get("since", ""), p.get("until", ""), p.get("end", "")
        ok = (
            len(user) <= MAX_USER
            and not has_control(user)
            and result in ("", *RESULTS)
            and all(not t or _TIME.fullmatch(t) for t in (since, until))
            and (not end or (end.isdigit() and len(end) < 20))
        )
        path = self.base.audit_path()
        lines: list[dict[str, str]] = []
        next_url, budget = "", False
        if ok and path:
            query = AuditQuery(user=user, result=result, since=since, until=until)
            found = await run_in_threadpool(
                search, path, query, end=int(end) if end else None, limit=PAGE
            )
            lines = shown(found.lines)
            budget = found.exhausted_budget
            if found.next_end is not None:
                args = {"user": user, "result": result, "since": since, "until": until}
                next_url = "?" + urllib.parse.urlencode({**args, "end": found.next_end})
        return self.base.page(
            request,
            ctx,
            "audit.html",
            200 if ok else 400,
            lines=lines,
            user=user if ok else "",
            result=result if ok else "",
            since=since if ok else "",
            until=until if ok else "",
            results=RESULTS,
            next_url=next_url,
            budget=budget,
            audit_on=bool(path),
            bad=not ok,
            first=not end,
        )

    async def status(self, request: Request, ctx: Ctx) -> Response:
        store = self.base.store
        healthy, counts, invited = True, None, 0
        try:
            await run_in_threadpool(store.ping)
            counts = await run_in_threadpool(store.count_users, ctx.now)
            invited = len(await run_in_threadpool(self.base.admin.open_links, None, ctx.now))
        except OTPGateError:
            healthy = False
        path = self.base.audit_path()
        size = None
        if path:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = None
        throttle = self.base.auth.throttle
        return self.base.page(
            request,
            ctx,
            "status.html",
            200 if healthy else 503,
            healthy=healthy,
            store_url=store.url,
            counts=counts,
            invited=invited,
            audit_path=path or "",
            audit_size=size,
            shared="Redis" if "redis" in type(throttle).__name__.lower() else "this process only",
            settings=self.base.auth.settings,
        )
