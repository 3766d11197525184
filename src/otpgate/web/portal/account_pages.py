"""What ``/account``'s authenticator forms share: the page they answer with, and the
session bound anew after a change of the user's first token.

Its own module so that the token forms (:mod:`.account_tokens`) and the new
app's confirmation (:mod:`.account_new_app`) both import it, and not each other.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..sessions import Session

if TYPE_CHECKING:
    from ...store.base import UserStore
    from .forms import Forms

__all__ = ["AccountPages", "rebound_page"]


class AccountPages(Protocol):
    """What the token forms use of the account page."""

    async def _page(
        self,
        request: Request,
        user: str,
        lang: str,
        status: int = 200,
        *,
        message: str | None = None,
        kind: str = "error",
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> Response: ...

    async def _reauthenticate(
        self,
        request: Request,
        session: Session,
        form: dict[str, str],
        lang: str,
        prefix: str,
        now: float,
    ) -> Response | None: ...


async def rebound_page(
    page: AccountPages,
    request: Request,
    forms: Forms,
    store: UserStore,
    session: Session,
    message: str,
) -> Response:
    """The account page saying ``message`` after a change of the user's authenticators.

    Sessions are bound to the user's first token (none for a passkey-only user):
    removing it, or a passkey-only user's first app, ends them all.  This
    browser, which just proved the PIN and a second factor, gets a new session
    bound to the record as it is now.  This process stops answering from the old
    record at once.
    """
    user, sessions, now = session.user, forms.sessions, forms.now()
    sessions.reread(user)
    after = await run_in_threadpool(store.get, user)
    renewed = None
    if after is not None and not sessions.codec.bound(session, after.key):
        stamp = math.floor(now * 1000) / 1000
        renewed = Session(user, stamp, stamp, forms.ip(request), sessions.codec.binding(after.key))
    lang = forms.lang(request)
    response = await page._page(request, user, lang, message=message, kind="ok", session=renewed)
    if renewed is not None:
        sessions.set(response, renewed, now)
    return response
