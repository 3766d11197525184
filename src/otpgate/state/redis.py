"""Shared state in Redis: backoff tables, known credentials, revocations.

Keys (all under ``key_prefix``, default ``otpgate:``):

* ``b:<table>:<key>``: a hash ``f`` (failures), ``l`` (last failure), ``b``
  (blocked until), updated by a Lua script (:mod:`._lua`) so that concurrent
  failures from several processes count one by one; it expires by itself
  once quiet.
  Redis must not evict these (``maxmemory-policy noeviction`` or a
  ``volatile-*`` policy with room): an evicted entry is a guesser's fresh start.
* ``w:<table>:<key>``: failure times in a sliding window (a sorted set);
  ``m:<table>:<key>``: marks that expire (what a per-user guess budget needs);
* ``c:<digest>``: a known credential's entry (see :mod:`otpgate.login.authenticator`), with
  the linger window as its time to live.
* ``s:<digest>``: a single-use entry (a challenge's transaction), taken with ``GETDEL``.
* channel ``revoke``: user names whose cached state every process drops.

A login attempt costs two round trips, whatever the name: one pipeline of
reads before it is decided (:meth:`RedisState.ask`) and, if refused, one
script after (:meth:`RedisState.tell`), counting or not.  Each read returns
a bounded answer (a window's wait is read as the one entry that decides it,
not as the whole window), so a name's history does not show in the time
either.

Why short timeouts and a circuit breaker (:mod:`.breaker`): the gate must
answer while Redis is away; the callers then fall back to their
per-process tables.  Times are the callers' clocks (Unix time), as for the
per-process tables.
"""

from __future__ import annotations

import contextlib
import logging
import math
import select
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from . import _lua
from .base import Answer, Ask, Backoff, Entry, Tell
from .breaker import Breaker, BreakerHooks

__all__ = ["RedisState"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _blocked(value: bytes | None, now: float) -> float | None:
    """Seconds until a backoff entry's ``b`` (blocked until), or ``None``."""
    if value is None:
        return None
    blocked = float(value)
    return blocked - now if now < blocked else None


def _delay(got: list[bytes] | None, rule: Backoff) -> float | None:
    """The backoff a failure script started, or ``None``."""
    if got is None or not got[0]:
        return None
    delay = float(got[0])
    return delay if math.isfinite(delay) else rule.cap


def _member(now: float) -> str:
    return f"{now!r}:{uuid.uuid4().hex[:12]}"  # two failures at one instant are two


def _window_wait(
    got: list[tuple[bytes, float]], now: float, window: float, limit: int
) -> float | None:
    """Seconds until a window has room, from its limit-th newest failure (if any).

    That failure must leave the window; if it already has (or there are fewer
    than ``limit``), there is room now.
    """
    if limit <= 0 or not got:
        return None
    wait = float(got[0][1]) + window - now
    return wait if wait > 0 else None


def describe(url: str) -> str:
    """``redis://host:port/db`` without user or password, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _client(url: str, timeout: float) -> tuple[Any, type[BaseException]]:
    """A redis-py client for ``url`` that never retries by itself, and redis-py's error class.

    Raises:
        ConfigError: ``redis`` is not installed or the URL is not a Redis URL.
    """
    from ..errors import ConfigError

    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise ConfigError(
            "state.url is a Redis URL but redis-py is not installed: pip install 'otpgate[redis]'"
        ) from None
    try:
        # No retries inside the client: the breaker decides when to try again.
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise ConfigError(f"state.url: {exc}") from None
    return client, redis.RedisError


class RedisState(BreakerHooks):
    """:class:`~otpgate.state.base.SharedState` in Redis (redis-py).

    Args:
        url: ``redis://[user:password@]host:port/db``, ``rediss://...`` or
            ``unix:///path?db=N``.
        key_prefix: put before every key and channel (several gates, or
            tests, can share one Redis).
        timeout: seconds a connect or a command may take.
        retry_interval: seconds between attempts while Redis is away.
        clock: for the circuit breaker (monotonic).

    Raises:
        ConfigError: ``redis`` is not installed or the URL is not a Redis URL.
    """

    shared = True
    shares_credentials = True

    def __init__(
        self,
        url: str,
        key_prefix: str = "otpgate:",
        *,
        timeout: float = 0.25,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.where = describe(url)
        self.prefix = key_prefix
        self.timeout = timeout
        self.retry_interval = retry_interval
        self._clock = clock
        self._redis, redis_error = _client(url, timeout)
        self._failure = self._redis.register_script(_lua.FAILURE)
        self._window = self._redis.register_script(_lua.WINDOW)
        self._tell = self._redis.register_script(_lua.TELL)
        self.breaker = Breaker(
            f"Redis at {self.where}", (redis_error, OSError), retry_interval, clock
        )
        self._errors = self.breaker.errors
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        """Set while the revocation listener is subscribed."""
        self._listener: threading.Thread | None = None
        self._pubsub: Any = None
        self._drain_lock = threading.Lock()
        self._fds: tuple[int] | None = None  # the subscription's socket, for sync()
        self._sync_errors: tuple[type[BaseException], ...] = (*self._errors, ValueError)
        self._on_user: Callable[[str], None] = lambda user: None
        self._on_reset: Callable[[], None] = lambda: None

    def _call(self, op: str, fn: Callable[[], T], default: T) -> T:
        return self.breaker.call(op, fn, default)

    def problem(self) -> str | None:
        return self.breaker.problem()

    def check(self) -> str | None:
        self.breaker.call("ping", self._redis.ping, None, force=True)
        return self.problem()

    # -- backoff tables ----------------------------------------------------

    def _bkey(self, table: str, key: str) -> str:
        return f"{self.prefix}b:{table}:{key}"

    def retry_after(self, table: str, key: str, now: float) -> float | None:
        got = self._call("hmget", lambda: self._redis.hmget(self._bkey(table, key), "b"), [None])
        return _blocked(got[0], now)

    def failure(self, table: str, key: str, now: float, rule: Backoff) -> float | None:
        args: list[str | int] = [repr(now), rule.free, repr(rule.base), repr(rule.cap)]
        got = self._call(
            "failure", lambda: self._failure(keys=[self._bkey(table, key)], args=args), None
        )
        return _delay(got, rule)

    def clear(self, table: str, key: str) -> None:
        self._call("del", lambda: self._redis.delete(self._bkey(table, key)), None)

    # -- windows and marks (a per-user guess budget) ----------------------

    def _wkey(self, table: str, key: str) -> str:
        return f"{self.prefix}w:{table}:{key}"

    def window_failure(self, table: str, key: str, now: float, window: float, limit: int) -> None:
        args: list[str | int] = [repr(now), repr(window), max(limit, 1), _member(now)]
        self._call("window", lambda: self._window(keys=[self._wkey(table, key)], args=args), None)

    def _window_read(self, client: Any, entry: Entry, limit: int) -> Any:
        # The limit-th newest failure decides (by rank: one entry, however many there are).
        rank = -max(limit, 1)
        return client.zrange(self._wkey(*entry), rank, rank, withscores=True)

    def window_retry_after(
        self, table: str, key: str, now: float, window: float, limit: int
    ) -> float | None:
        entry = (table, key)
        got: list[tuple[bytes, float]] = self._call(
            "window_read", lambda: self._window_read(self._redis, entry, limit), []
        )
        return _window_wait(got, now, window, limit)

    def window_clear(self, table: str, key: str) -> None:
        self._call("del", lambda: self._redis.delete(self._wkey(table, key)), None)

    def _mkey(self, table: str, key: str) -> str:
        return f"{self.prefix}m:{table}:{key}"

    def mark(self, table: str, key: str, ttl: float) -> None:
        ms = max(int(ttl * 1000), 1)
        mkey = self._mkey(table, key)
        self._call("mark", lambda: self._redis.set(mkey, b"1", px=ms), None)

    def marked(self, table: str, key: str) -> bool:
        mkey = self._mkey(table, key)
        return bool(self._call("marked", lambda: self._redis.exists(mkey), 0))

    # -- one login attempt: one round trip before, one after --------------

    def ask(self, question: Ask, now: float) -> Answer:
        """One pipeline of reads; its commands depend on the question's shape alone."""
        q = question
        nothing = Answer(None, False, (None,) * len(q.windows), None)

        def run() -> Answer:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hmget(self._bkey(*q.backoff), "b")
            if q.mark is not None:
                pipe.exists(self._mkey(*q.mark))
            for entry in q.windows:
                self._window_read(pipe, entry, q.limit)
            if q.credential is not None:
                pipe.get(self._ckey(q.credential))
            got = iter(pipe.execute())
            wait = _blocked(next(got)[0], now)
            marked = bool(next(got)) if q.mark is not None else False
            waits = tuple(_window_wait(next(got), now, q.window, q.limit) for _ in q.windows)
            credential = next(got) if q.credential is not None else None
            return Answer(wait, marked, waits, credential)

        return self._call("ask", run, nothing)

    def tell(self, outcome: Tell, now: float) -> float | None:
        """One script, counted or not (then it changes nothing)."""
        t, rule = outcome, outcome.rule
        keys = [self._bkey(*t.backoff)]
        if t.lane is not None:
            keys.append(self._wkey(*t.lane))
        args: list[str | int] = [repr(now), rule.free, repr(rule.base), repr(rule.cap)]
        args += ["1" if t.counted else "0", repr(t.window), max(t.limit, 1), _member(now)]
        got = self._call("tell", lambda: self._tell(keys=keys, args=args), None)
        return _delay(got, rule)

    # -- known credentials -------------------------------------------------

    def _ckey(self, digest: bytes) -> bytes:
        return self.prefix.encode() + b"c:" + digest.hex().encode()

    def put_credential(self, digest: bytes, value: bytes, ttl: float) -> None:
        ms = max(int(ttl * 1000), 1)
        self._call("set", lambda: self._redis.set(self._ckey(digest), value, px=ms), None)

    def get_credential(self, digest: bytes) -> bytes | None:
        got: bytes | None = self._call("get", lambda: self._redis.get(self._ckey(digest)), None)
        return got

    # -- single-use entries --------------------------------------------------

    def put_single(self, digest: bytes, value: bytes, ttl: float, now: float) -> bool:
        ms, key = max(int(ttl * 1000), 1), self.prefix.encode() + b"s:" + digest.hex().encode()
        return bool(self._call("set", lambda: self._redis.set(key, value, px=ms), False))

    def take_single(self, digest: bytes, now: float) -> bytes | None:
        key = self.prefix.encode() + b"s:" + digest.hex().encode()
        # GETDEL (Redis 6.2): read and delete in one command, so one taker wins.
        got: bytes | None = self._call("getdel", lambda: self._redis.getdel(key), None)
        return got

    # -- revocations -------------------------------------------------------

    @property
    def channel(self) -> str:
        return f"{self.prefix}revoke"

    def revoke(self, user: str) -> None:
        self._call("publish", lambda: self._redis.publish(self.channel, user.encode()), None)

    def listen(self, on_user: Callable[[str], None], on_reset: Callable[[], None]) -> None:
        if self._listener is not None:
            raise RuntimeError("already listening")
        self._on_user, self._on_reset = on_user, on_reset
        self._listener = threading.Thread(
            target=self._listen, name="otpgate-revocations", daemon=True
        )
        self._listener.start()

    def sync(self) -> None:
        """Apply revocations already delivered to this process, without waiting.

        Called on the request path before a cached answer: a revocation that
        reached this process's socket before the request did (a logout on
        another host, then the user's next request here) is applied first,
        even if the listener thread has not been scheduled yet.  Costs one
        non-blocking readiness check when nothing is pending.
        """
        fds = self._fds
        if fds is None:
            return
        try:
            if self._drain_lock.locked() or select.select(fds, (), (), 0)[0]:
                self._drain()
        except self._sync_errors:
            pass  # the listener sees the broken connection and reconnects

    def _drain(self) -> None:
        """Apply every message already received (under the lock: one reader at a time)."""
        with self._drain_lock:
            pubsub = self._pubsub
            while pubsub is not None:
                msg = pubsub.get_message(timeout=0)
                if msg is None:
                    return
                if msg["type"] == "subscribe":
                    # Messages sent while we were away are lost: drop every cache.
                    self._on_reset()
                    self.subscribed.set()
                    self.breaker.succeeded()
                elif msg["type"] == "message":
                    self._on_user(bytes(msg["data"]).decode("utf-8", "replace"))

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
                pubsub.subscribe(self.channel)
                sock = getattr(pubsub.connection, "_sock", None)
                if sock is None:
                    raise ConnectionResetError("the subscription's connection closed")
                # Wait on the socket itself (reading it is for _drain, under its lock).
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                with self._drain_lock:
                    self._pubsub = pubsub
                    self._fds = (sock.fileno(),)
                while not self._stop.is_set():
                    # Wake up now and then (ms) to see whether to stop.
                    if poller.poll(1000):
                        self._drain()
            except self._errors as exc:
                if self._stop.is_set():
                    break
                self.breaker.failed(exc)
                self._stop.wait(self.retry_interval)
            except Exception:  # a bug in a callback must not end the listener
                log.exception("revocation listener failed; restarting it")
                self._stop.wait(self.retry_interval)
            finally:
                self.subscribed.clear()
                with self._drain_lock:
                    pubsub, self._pubsub, self._fds = self._pubsub, None, None
                if pubsub is not None:
                    with contextlib.suppress(*self._errors):
                        pubsub.close()

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)
        with contextlib.suppress(*self._errors):
            self._redis.close()
