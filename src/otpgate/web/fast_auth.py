"""``otpgate serve``'s HTTP protocol: uvicorn's, with ``GET /auth`` answered from memory.

Through nginx the gate's process spent 54-65 µs of CPU per hot-path request,
of which the decision is 8-13 µs: the rest was the server's work per request
(a scope, a task, the ASGI messages) and the system calls
(docs/benchmarks.md, "Issue 23").  For the requests behind every page of a
protected site -- a forward-auth ``GET /auth`` with a session cookie or a
lingering Basic credential -- this protocol asks
:meth:`~.forward_answers.ForwardAnswers.look` as soon as the headers are
parsed, and writes its answer on the connection.  ``look`` is the very
function the ASGI endpoint (:mod:`.forward_auth`) asks first: the same
checks (trusted proxies, the header limits, sessions, linger, throttle,
lock), the same metrics and audit, the same header bytes.

Everything else goes to uvicorn's own path unchanged: other paths and
methods (HEAD too), a request with a body or ``Expect``, an upgrade, HTTP/1.0
or ``Connection: close``, a request pipelined behind one still being
answered, oversized headers, and every request ``look`` cannot answer from
memory (no credentials, a fresh login).  uvicorn settings whose work would
be skipped turn the fast path off: the access log (``--access-log``), ``root_path``, proxy
headers or trace logging (which wrap the app), a concurrency limit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
)
from uvicorn.server import ServerState

from .forward_answers import SEEN, Answer, ForwardAnswers
from .middleware import headers_too_large

__all__ = ["FastAuthProtocol", "fast_answers", "supported"]

log = logging.getLogger(__name__)

# The request targets answered here (nginx asks "/auth?redirect=401").
_PATH: Final = b"/auth"
_PATH_QUERY: Final = b"/auth?"
_BODY_HEADERS: Final = frozenset({b"content-length", b"transfer-encoding"})
# What uvicorn answers when the app fails (RequestResponseCycle.send_500_response).
_FAILED: Final = (
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


# What this module uses of uvicorn's protocol beyond its public options: checked
# when ``serve`` starts, so a uvicorn release that renamed one falls back to the
# stock protocol (slower, the same answers) instead of failing requests.
_HOOKS: Final = ("on_headers_complete", "on_message_complete", "on_response_complete")
_STATE: Final = ("url", "headers", "scope", "parser", "cycle", "flow", "transport", "client")


def supported() -> bool:
    """Whether the installed uvicorn has what :class:`FastAuthProtocol` relies on."""
    if not all(callable(getattr(HttpToolsProtocol, hook, None)) for hook in _HOOKS):
        return False
    if 200 not in STATUS_LINE or 500 not in STATUS_LINE:
        return False
    # Instance attributes are set in __init__ or as a request starts; uvicorn's
    # source names them (a class without them would fail on the first request).
    import inspect

    try:
        source = inspect.getsource(HttpToolsProtocol)
    except (OSError, TypeError):
        return False
    return all(f"self.{name} =" in source or f"self.{name}:" in source for name in _STATE)


class _Unsendable(Exception):
    """A header value with a line break or another control character."""


def fast_answers(config: Config, app: Any) -> ForwardAnswers | None:
    """The app's forward-auth answers, if the fast path may use them under ``config``."""
    answers = getattr(app, "forward_answers", None)
    if not isinstance(answers, ForwardAnswers):
        return None  # not the gate's app, or wrapped (proxy headers, trace logging)
    if config.access_log or config.root_path or config.limit_concurrency is not None:
        return None
    return answers


class FastAuthProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a ``GET /auth`` answered from memory skips ASGI."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._answers = fast_answers(config, self.app)
        self._ready: bytes | None = None
        self._close = False

    def on_headers_complete(self) -> None:
        answers = self._answers
        ready = self._answer(answers) if answers is not None and self._plain_get() else None
        if ready is None:
            super().on_headers_complete()
        else:
            self._ready = ready  # written when the parser says the message is complete

    def on_message_complete(self) -> None:
        ready = self._ready
        if ready is None:
            super().on_message_complete()
            return
        self._ready = None
        self.transport.write(ready)
        if self._close:
            self.transport.close()
        self.on_response_complete()  # counts it, arms the keep-alive timer

    def _answer(self, answers: ForwardAnswers) -> bytes | None:
        """The answer's bytes, or ``None`` for uvicorn's own path."""
        try:
            answer = answers.look(self.headers, self.client[0] if self.client else None)
            if not isinstance(answer, Answer):
                # The ASGI endpoint goes on from what was read (parsed, digested once).
                self.scope[SEEN] = answer  # type: ignore[typeddict-unknown-key]
                return None
            return self._encode(answer)
        except _Unsendable:
            # uvicorn's send() refuses it after starting the answer: it closes, silently.
            log.error("refusing an answer whose header would split it")
            self._close = True
            return b""
        except Exception:
            # As uvicorn does for an app's exception: logged, a 500, the connection closed.
            log.exception("Exception in the forward-auth fast path")
            self._close = True
            return self._head(500) + _FAILED

    def _plain_get(self) -> bool:
        """A keep-alive ``GET /auth`` without a body, answerable now and in order."""
        url, parser, cycle = self.url, self.parser, self.cycle
        if url != _PATH and not url.startswith(_PATH_QUERY):
            return False
        if parser.get_method() != b"GET" or parser.get_http_version() != "1.1":
            return False
        if not parser.should_keep_alive() or parser.should_upgrade():
            return False
        if self.expect_100_continue or self.flow.write_paused:
            return False
        if cycle is not None and not cycle.response_complete:
            return False  # pipelined behind an answer still being written
        headers = self.headers
        if any(name in _BODY_HEADERS for name, _ in headers):
            return False
        return not headers_too_large(headers)  # HeaderLimit answers those (431)

    def _head(self, status: int) -> bytes:
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        return b"".join(content)

    def _encode(self, answer: Answer) -> bytes:
        """As uvicorn writes the ASGI answer: status line, its default headers, ours."""
        content = [self._head(answer.status)]
        for name, value in answer.headers:
            if HEADER_VALUE_RE.search(value):
                raise _Unsendable  # as uvicorn's send() does
            content += (name, b": ", value, b"\r\n")
        content += (b"\r\n", answer.body)
        return b"".join(content)
