"""The routes of ``/admin``, for users with the administrator role.

Pages: the user list (search, filters, keyset pages), a user's page and its
actions, inviting a user, the audit view, the status page.  Every route is
made by :meth:`AdminPages.routes` through :meth:`.base.AdminBase.guard`, so
none can skip the administrator check, the cross-site check or the CSRF token.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..http import redirect
from .actions import Actions
from .base import AdminBase, Ctx, root
from .users import UserPages
from .views import Views

__all__ = ["AdminPages"]

FORM = ["GET", "HEAD", "POST"]


class AdminPages:
    """The admin pages of one gate.

    Args:
        base: what every admin page does first (the guard), and the administration.
    """

    def __init__(self, base: AdminBase) -> None:
        self.base = base
        self.users = UserPages(base)
        self.actions = Actions(base)
        self.views = Views(base)

    def routes(self) -> list[Route]:
        g = self.base.guard
        a = self.actions
        user = "/admin/users/{name}"
        routes = [
            Route("/admin", g(self.users.users), methods=["GET", "HEAD"]),
            Route("/admin/", g(_to_list), methods=["GET", "HEAD"]),
            Route(user, g(self.users.user), methods=["GET", "HEAD"]),
            Route("/admin/invite", g(a.invite), methods=FORM),
            Route("/admin/audit", g(self.views.audit), methods=["GET", "HEAD"]),
            Route("/admin/status", g(self.views.status), methods=["GET", "HEAD"]),
        ]
        for action in ("lock", "unlock", "revoke"):
            routes.append(
                Route(f"{user}/{action}", g(partial(a.simple, action=action)), methods=FORM)
            )
        for action in ("resync", "reset", "recovery-codes", "role", "remove", "remove-token"):
            routes.append(
                Route(f"{user}/{action}", g(partial(a.confirmed, action=action)), methods=FORM)
            )
        return routes


async def _to_list(request: Request, ctx: Ctx) -> Response:
    return redirect(root(request) + "admin", 308)
