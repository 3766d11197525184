"""The forward-auth fast path (otpgate.web.fast_auth) against uvicorn's own protocol.

Two gates with the same users, settings and clock, one served by uvicorn's
httptools protocol (every request through ASGI), one by otpgate's
``FastAuthProtocol``, get the same requests on raw sockets; the bytes that
come back must be the same (but for the ``date`` header's second).  The
fast path must also really answer without ASGI where it may, and leave
everything else to uvicorn.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from otpgate.store.records import UserState
from otpgate.web.forward_auth import ForwardAuth
from otpgate.web.sessions import Session

from .conftest import KEY, PIN, UNICODE_KEY, UNICODE_PIN, UNICODE_USER, AppFactory, code
from .conftest import App as G
from .served import PROTOCOLS, served

_DATE = re.compile(rb"\r\ndate: [^\r]*", re.IGNORECASE)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(*headers: str, target: str = "/auth?redirect=401", method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: gate", "X-Forwarded-For: 192.0.2.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _complete(data: bytes, answers: int, head: bool) -> bool:
    """Whether ``data`` holds ``answers`` whole answers (each with a Content-Length,
    the length of a body only if not ``head``)."""
    for _ in range(answers):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = re.search(rb"\r\ncontent-length: (\d+)", head, re.IGNORECASE)
        size = int(length.group(1)) if length and not head else 0
        if len(rest) < size:
            return False
        data = rest[size:]
    return True


def exchange(port: int, data: bytes, answers: int = 1) -> bytes:
    """Send ``data`` on a new connection; what came back once ``answers`` answers are
    whole or the server closed the connection, without the date header's value."""
    received = b""
    head = data.startswith(b"HEAD ")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        while not _complete(received, answers, head):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return _DATE.sub(b"\r\ndate: -", received)


class Pair:
    """Two like gates: ``plain`` under uvicorn's protocol, ``fast`` under otpgate's."""

    def __init__(self, make_gate: AppFactory, stack: contextlib.ExitStack, **options: Any):
        self.gates: dict[str, G] = {}
        self.ports: dict[str, int] = {}
        for name, http in (("plain", PROTOCOLS["uvicorn"]), ("fast", PROTOCOLS["fast"])):
            g = make_gate(**options)
            url = stack.enter_context(served(g.client.app, http))
            self.gates[name], self.ports[name] = g, int(url.rsplit(":", 1)[1])

    def both(self, data: bytes, answers: int = 1) -> bytes:
        """The same request to both; the answers must be the same bytes."""
        plain = exchange(self.ports["plain"], data, answers)
        fast = exchange(self.ports["fast"], data, answers)
        assert fast == plain
        return fast

    def advance(self, seconds: float) -> None:
        for g in self.gates.values():
            g.clock.advance(seconds)

    def replace(self, user: str, state: UserState) -> None:
        for g in self.gates.values():
            record = g.store.get(user)
            assert record is not None
            g.store.replace(record.with_state(state))


@pytest.fixture
def pair(make_gate: AppFactory) -> Iterator[Pair]:
    with contextlib.ExitStack() as stack:
        yield Pair(make_gate, stack)


@pytest.fixture
def asgi_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request that reached the ASGI endpoint of /auth (either gate)."""
    calls: list[str] = []
    answer = ForwardAuth._answer

    async def counting(self: ForwardAuth, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["method"])
        await answer(self, scope, receive, send)

    monkeypatch.setattr(ForwardAuth, "_answer", counting)
    return calls


def _fresh(pair: Pair, user: str = "alice", pin: str = PIN, key: bytes = KEY) -> str:
    """A fresh Basic login on both gates; the Authorization header to linger with."""
    auth = f"Authorization: {basic(user, pin + code(pair.gates['plain'].clock, key))}"
    for port in pair.ports.values():
        assert exchange(port, request(auth)).startswith(b"HTTP/1.1 200 OK\r\n")
    pair.advance(1)
    return auth


def _session(pair: Pair, user: str = "alice", issued_ago: float = 0.0) -> str:
    g = pair.gates["plain"]
    codec, now = g.session_codec(), g.clock()
    session = Session(user, now - issued_ago, now - issued_ago, "192.0.2.1", codec.binding(KEY))
    return f"Cookie: otpgate_session={codec.encode(session)}"


def test_lingering_basic_is_the_same_answer_without_asgi(pair: Pair, asgi_calls: list[str]) -> None:
    auth = _fresh(pair)
    asgi_calls.clear()
    answer = pair.both(request(auth))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\ndate: -\r\ncontent-length: 0\r\n")
    assert b"\r\nremote-user: alice\r\ncache-control: no-store\r\n" in answer
    assert asgi_calls == ["GET"]  # the plain gate's only
    for g in pair.gates.values():
        assert g.metrics().decisions("auth", "linger") == 1


def test_session_cookies_are_the_same_answers_without_asgi(
    pair: Pair, asgi_calls: list[str]
) -> None:
    assert b"\r\nremote-user: alice\r\n" in pair.both(request(_session(pair)))
    # An older session is renewed: the same Set-Cookie from both.
    renewed = pair.both(request(_session(pair, issued_ago=120)))
    assert b"\r\nset-cookie: otpgate_session=" in renewed
    assert asgi_calls == ["GET", "GET"]
    for g in pair.gates.values():
        assert g.metrics().decisions("auth", "session") == 2


def test_unicode_names_and_names_that_would_split_the_header(
    make_gate: AppFactory, pair: Pair
) -> None:
    auth = _fresh(pair, UNICODE_USER, UNICODE_PIN, UNICODE_KEY)
    assert f"\r\nremote-user: {UNICODE_USER}\r\n".encode() in pair.both(request(auth))
    # A genuinely signed session of a name with CR LF: refused by both, alike.
    g = pair.gates["plain"]
    session = Session("eve\r\nX: 1", g.clock(), g.clock(), "192.0.2.1", "x")
    cookie = f"Cookie: otpgate_session={g.session_codec().encode(session)}"
    assert pair.both(request(cookie)).startswith(b"HTTP/1.1 401 Unauthorized\r\n")


def test_refusals_from_memory_are_the_same_answers(pair: Pair, asgi_calls: list[str]) -> None:
    wrong = f"Authorization: {basic('alice', '0000000000')}"
    answers = [pair.both(request(wrong)) for _ in range(8)]
    assert b"\r\nretry-after: " in answers[-1]
    assert b'\r\nwww-authenticate: Basic realm="otpgate", charset="UTF-8"\r\n' in answers[-1]
    # The throttled ones never reached the fast gate's ASGI endpoint.
    assert 8 < len(asgi_calls) < 16
    plain, fast = (g.metrics().render() for g in pair.gates.values())
    assert 'result="throttled"' in fast
    assert _decisions(plain) == _decisions(fast)


def _decisions(metrics: str) -> list[str]:
    return sorted(line for line in metrics.splitlines() if line.startswith("otpgate_decisions"))


def test_a_locked_user_is_refused_alike(pair: Pair) -> None:
    auth = _fresh(pair)
    pair.replace("alice", UserState(locked_until=float("inf")))
    pair.advance(3)  # past state_ttl: the record is read again
    answers = [pair.both(request(auth)) for _ in range(3)]
    assert all(a.startswith(b"HTTP/1.1 401 Unauthorized\r\n") for a in answers)


@pytest.mark.parametrize(
    "data",
    [
        request(),  # no credentials: a challenge
        request("Accept: text/html"),  # a browser: the portal
        request("Accept: text/html", target="/auth"),
        request(f"Authorization: {basic('alice', 'x')}"),  # malformed
        request("Authorization: Basic !!!"),
        request("X-Junk: " + "x" * 9000),  # 431
        request(method="HEAD"),
        request(method="TRACE"),
        request("Content-Length: 0", method="POST"),
        request(target="/healthz"),
        request(target="/auth/x"),
        request(target="/authx"),
        request(target="//auth"),
    ],
)
def test_what_memory_cannot_answer_goes_to_asgi_alike(pair: Pair, data: bytes) -> None:
    pair.both(data)


def test_linger_on_edges_of_http_is_left_to_uvicorn(pair: Pair, asgi_calls: list[str]) -> None:
    auth = _fresh(pair)
    asgi_calls.clear()
    cases = [
        request(auth, method="HEAD"),
        request(auth, "Content-Length: 2") + b"ab",
        request(auth, "Transfer-Encoding: chunked") + b"0\r\n\r\n",
        request(auth, "Expect: 100-continue", "Content-Length: 0"),
        request(auth, "Connection: close"),
        request(auth).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        request(auth, "Connection: keep-alive").replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        request(auth, target="/authx"),  # 404s
        request(auth, target="/auth/x"),
        request(auth, "X-Junk: " + "x" * 9000),
    ]
    for data in cases:
        pair.both(data)
    # Every one of them went through ASGI on both gates (the 404s are the
    # router's, the 431 is HeaderLimit's).
    assert len(asgi_calls) == 2 * (len(cases) - 3)


def test_pipelined_requests_are_answered_in_order(pair: Pair) -> None:
    auth = _fresh(pair)
    healthz = request(target="/healthz")
    three = pair.both(request(auth) + healthz + request(auth), answers=3)
    assert three.count(b"HTTP/1.1 200 OK\r\n") == 3
    first, second = three.index(b"remote-user"), three.index(b'{"status":"ok"}')
    assert first < second < three.rindex(b"remote-user")
    assert pair.both(request(auth) * 3, answers=3).count(b"remote-user: alice") == 3


def test_a_fresh_login_through_the_fast_gate_is_read_once(
    make_gate: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.web import forward_answers

    parsed: list[str] = []
    parse = forward_answers.parse_basic

    def counting(header: str) -> tuple[str, str]:
        parsed.append(header)
        return parse(header)

    monkeypatch.setattr(forward_answers, "parse_basic", counting)
    g = make_gate()
    with served(g.client.app) as url:
        auth = f"Authorization: {basic('alice', PIN + code(g.clock))}"
        answer = exchange(int(url.rsplit(":", 1)[1]), request(auth))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"set-cookie: otpgate_device=" in answer
    assert len(parsed) == 1  # the ASGI endpoint went on from the fast path's look
    assert g.metrics().decisions("auth", "otp") == 1


def test_a_header_value_that_would_split_the_answer_is_refused_alike(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otpgate.web.forward_answers import Answer, ForwardAnswers

    accept = ForwardAnswers.accept

    def splitting(self: ForwardAnswers, user: str, cookie: Any) -> Answer:
        answer = accept(self, user, cookie)
        return Answer(answer.status, [*answer.headers, (b"x-note", b"a\r\nx-admin: 1")])

    monkeypatch.setattr(ForwardAnswers, "accept", splitting)
    # uvicorn closes the connection without an answer; so does the fast path.
    assert pair.both(request(_session(pair))) == b""


def test_an_exception_in_the_fast_path_is_a_500_and_logged(
    make_gate: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from otpgate.web.forward_answers import ForwardAnswers

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    g = make_gate()
    monkeypatch.setattr(ForwardAnswers, "look", broken)
    with served(g.client.app) as url:
        answer = exchange(int(url.rsplit(":", 1)[1]), request() + request(), answers=2)
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert answer.count(b"HTTP/1.1") == 1 and answer.endswith(b"Internal Server Error")
    assert "Exception in the forward-auth fast path" in caplog.text


@pytest.mark.parametrize(
    ("options", "on"),
    [
        ({}, True),
        ({"access_log": True}, False),
        ({"root_path": "/gate"}, False),
        ({"proxy_headers": True}, False),
        ({"limit_concurrency": 100}, False),
    ],
)
def test_settings_whose_work_it_would_skip_turn_the_fast_path_off(
    gate: G, options: dict[str, Any], on: bool
) -> None:
    import uvicorn

    from otpgate.web.fast_auth import FastAuthProtocol
    from otpgate.web.forward_answers import ForwardAnswers

    settings = {"proxy_headers": False, "log_level": "warning", "access_log": False, **options}
    config = uvicorn.Config(gate.client.app, http=FastAuthProtocol, **settings)
    config.load()
    protocol = FastAuthProtocol(config, uvicorn.server.ServerState(), {})
    assert isinstance(protocol._answers, ForwardAnswers) is on


class _Transport:
    """What the protocol writes, without a socket."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 9090), "peername": ("127.0.0.1", 40000)}.get(name)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_a_connection_whose_writes_are_paused_is_left_to_uvicorn(gate: G) -> None:
    import asyncio

    import uvicorn

    from otpgate.web.fast_auth import FastAuthProtocol

    codec, now = gate.session_codec(), gate.clock()
    session = Session("alice", now, now, "192.0.2.1", codec.binding(KEY))
    cookie = request(f"Cookie: otpgate_session={codec.encode(session)}")
    config = uvicorn.Config(gate.client.app, proxy_headers=False, access_log=False)
    config.load()
    loop = asyncio.new_event_loop()
    try:
        state = uvicorn.server.ServerState()
        protocol = FastAuthProtocol(config, state, {}, _loop=loop)
        transport = _Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(cookie)
        assert transport.written[0].startswith(b"HTTP/1.1 200 OK\r\n") and not state.tasks
        # uvicorn's send() waits for the client to read before writing more; so
        # the fast path does not answer, uvicorn's task does once it has drained.
        protocol.flow.write_paused = True
        protocol.data_received(cookie)
        assert len(transport.written) == 1 and len(state.tasks) == 1
        protocol.flow.resume_writing()
        loop.run_until_complete(asyncio.gather(*state.tasks))
        assert transport.written[1].startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        loop.close()


def test_the_installed_uvicorn_has_what_the_fast_path_uses() -> None:
    """A uvicorn release that drops one of them turns the fast path off (and this red)."""
    from otpgate.web import fast_auth

    assert fast_auth.supported()


def test_a_uvicorn_without_a_hook_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from otpgate.web import fast_auth

    monkeypatch.delattr(HttpToolsProtocol, "on_response_complete")
    assert not fast_auth.supported()
