"""The admin user list with a million users: first page and name-prefix search, p50/p99.

On demand only (it fills a database with a million users)::

    .venv/bin/python bench/admin_list.py --users 1000000 --backend both

Users are bulk-inserted straight into the tables (one transaction, rows made
with the store's own encryption), then each query runs ``--runs`` times: the
store query alone, and the whole page (``GET /admin`` through the ASGI app,
an administrator's session, the rendered table) in-process.  PostgreSQL uses
a fresh database on 127.0.0.1 that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from otpgate.config.loader import load_config
from otpgate.login.authenticator import Authenticator
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import TokenType
from otpgate.store import _sql, crypto, open_store
from otpgate.store._sql import tokens as tokens_sql
from otpgate.store._sql import users as users_sql
from otpgate.store.base import Store, stamped
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.web import create_app

TOTP = TokenType("HOTP", 30, 6)
ROOT_KEY = b"r" * 20
NOW = 1_800_000_000.0


def rows(keys: crypto.KeyRing, n: int) -> Iterator[tuple[Any, ...]]:
    """Rows in _sql.COLUMNS order: u0000000 ... with a few locked and never-signed-in users."""
    for i in range(n):
        name = f"u{i:07d}"
        state = UserState(
            failures=i % 3,
            last_auth=None if i % 10 == 0 else NOW - i,
            last_ip=None if i % 10 == 0 else "198.51.100.7",
            locked_until=math.inf if i % 1000 == 7 else None,
        )
        params = _sql.record_params(UserRecord(name, TOTP, bytes(20), Pin("none"), state), keys)
        params["version"] = 1
        yield tuple(params[c] for c in _sql.COLUMNS)


_TOKEN_COLS = ("username", "position", *tokens_sql.COLUMNS)


def token_rows(keys: crypto.KeyRing, n: int) -> Iterator[tuple[Any, ...]]:
    """Each user's one token (a random id), in ``_TOKEN_COLS`` order."""
    for i in range(n):
        record = stamped(UserRecord(f"u{i:07d}", TOTP, bytes(20), Pin("none")), lambda _: False)
        for params in users_sql.token_rows(record, keys):
            yield tuple(params[c] for c in _TOKEN_COLS)


def fill_sqlite(path: str, keys: crypto.KeyRing, n: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    marks = ", ".join("?" for _ in _sql.COLUMNS)
    insert = f"INSERT INTO users ({', '.join(_sql.COLUMNS)}) VALUES ({marks})"  # noqa: S608
    conn.executemany(insert, rows(keys, n))
    marks = ", ".join("?" for _ in _TOKEN_COLS)
    insert = f"INSERT INTO tokens ({', '.join(_TOKEN_COLS)}) VALUES ({marks})"  # noqa: S608
    conn.executemany(insert, token_rows(keys, n))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def fill_postgres(url: str, keys: crypto.KeyRing, n: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY users ({', '.join(_sql.COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows(keys, n):
                copy.write_row(row)
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY tokens ({', '.join(_TOKEN_COLS)}) FROM STDIN") as copy,
        ):
            for row in token_rows(keys, n):
                copy.write_row(row)
        conn.execute("VACUUM ANALYZE users")
        conn.execute("VACUUM ANALYZE tokens")


def timed(fn: Callable[[], object], runs: int) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, math.ceil(0.99 * len(samples)) - 1)],
        "max": samples[-1],
    }


def measure(store: Store, n: int, runs: int) -> dict[str, dict[str, float]]:
    # A prefix matching a thousand users in the middle of the name range.
    prefix = f"u{n // 2:07d}"[:5]
    later = f"u{n * 19 // 20:07d}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    store.add(UserRecord("root", TOTP, ROOT_KEY, Pin("none")))
    store.set_role("root", "admin")
    config = load_config(
        None,
        env={},
        overrides={"web": {"session_secrets": ["s" * 40], "cookie_secure": False}},
    )
    app = create_app(config, Authenticator(store, config.auth_settings(), clock=lambda: NOW))
    client = TestClient(app, client=("127.0.0.1", 5000), follow_redirects=False)
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/login", data={"username": "root", "pin": "", "code": totp(ROOT_KEY, NOW), "csrf": csrf}
    )
    assert r.status_code == 303, r.text

    def get(path: str) -> None:
        resp = client.get(path)
        assert resp.status_code == 200 and "/admin/users/u" in resp.text, resp.status_code

    out = {
        "store: first page": timed(lambda: list(store.list_users(limit=51)), runs),
        f"store: prefix {prefix}": timed(lambda: list(store.list_users(prefix, limit=51)), runs),
        "store: locked filter": timed(
            lambda: list(store.list_users(limit=51, filters=_locked())), runs
        ),
        "page: GET /admin": timed(lambda: get("/admin"), runs),
        f"page: GET /admin?q={prefix}": timed(lambda: get(f"/admin?q={prefix}"), runs),
        f"page: GET /admin?after={later}": timed(lambda: get(f"/admin?after={later}"), runs),
    }
    client.close()
    return out


def _locked() -> Any:
    from otpgate.store.query import UserFilter

    return UserFilter(locked=True)


def run(backend: str, n: int, runs: int, pg: str) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        key_file = str(Path(tmp) / "otpgate.key")
        keys = crypto.create_key_file(key_file)
        started = time.perf_counter()
        if backend == "sqlite":
            path = str(Path(tmp) / "otpgate.db")
            url = f"sqlite:///{path}"
            open_store(url, key_file=key_file).close()  # the schema
            fill_sqlite(path, keys, n)
            drop: Callable[[], None] = lambda: None  # noqa: E731
        else:
            import psycopg

            name = f"otpgate_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = pg.rsplit("/", 1)[0] + "/" + name

            def drop() -> None:
                with psycopg.connect(pg, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            s = open_store(url, key_file=key_file)
            s.ping()  # the schema
            s.close()
            fill_postgres(url, keys, n)
        print(f"{backend}: {n:,} users inserted in {time.perf_counter() - started:.0f} s")
        try:
            store = open_store(url, key_file=key_file)
            try:
                return measure(store, n, runs)
            finally:
                store.close()
        finally:
            drop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = p.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        results = run(backend, args.users, args.runs, args.pg)
        print(f"| {backend} ({args.users:,} users) | p50 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|")
        for what, r in results.items():
            print(f"| {what} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} |")


if __name__ == "__main__":
    main()
