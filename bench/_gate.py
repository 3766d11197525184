"""Stores full of benchmark users, gate configs, the gate under several servers, nginx.

Users are event (HOTP/E) tokens with random keys, so every login can be given
a genuinely new code: user ``u<i>`` logs in with ``PIN + HOTP(key_i, 0)``,
then counter 1, and so on.  PINs in SQL stores are argon2id hashes; to keep
set-up fast, every user shares one hash of the same PIN (each verification
still pays the full hash cost).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import PY, ROOT, free_port, nginx_conf, serve_argv, started

from otpgate.login.pins import PinHasher
from otpgate.otp.tokens import TokenType
from otpgate.otp.verify import Token
from otpgate.store import _sql, open_store
from otpgate.store._sql import tokens as tokens_sql
from otpgate.store._sql import users as users_sql
from otpgate.store.base import stamped
from otpgate.store.crypto import create_key_file, load_key_file
from otpgate.store.records import Pin, UserRecord

SECRET = "bench-session-secret-0123456789abcdef"  # noqa: S105 - a throwaway benchmark secret
# web.instance of every benchmark gate, so session_cookie() can bind its cookies.
INSTANCE = "bench"
PIN = "4711"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
EVENT = TokenType("HOTP", 0, 6)


def user_key(i: int) -> bytes:
    """Deterministic per-user key (20 bytes): no need to keep a list of them."""
    import hashlib

    return hashlib.sha1(b"otpgate-bench-%d" % i).digest()  # noqa: S324 - key derivation for test data, not security


def password(i: int, counter: int = 0) -> str:
    return PIN + Token(EVENT, user_key(i)).code(counter)


def _record(i: int, pin: Pin) -> UserRecord:
    return UserRecord(f"u{i}", EVENT, user_key(i), pin)


# --- stores -------------------------------------------------------------------------


@dataclass
class StoreSpec:
    kind: str  # sqlite, users-file, postgresql
    url: str
    key_file: Path | None
    users: int
    cleanup: Any = None


def pin_hash(hasher: PinHasher | None = None) -> str:
    return (hasher or PinHasher()).hash(PIN)


def _rows(first: int, last: int, keys: Any, pin: Pin) -> Iterator[dict[str, Any]]:
    for i in range(first, last):
        params = _sql.record_params(_record(i, pin), keys)
        params["version"] = 1  # as the stores' add() does
        yield params


def _token_rows(first: int, last: int, keys: Any) -> Iterator[dict[str, Any]]:
    """Each user's one token, as the stores' add() writes it (a random id: 64 bits)."""
    for i in range(first, last):
        record = stamped(_record(i, Pin("none")), lambda _: False)
        yield from users_sql.token_rows(record, keys)


def make_sqlite(directory: Path, users: int, *, hashed: str | None = None) -> StoreSpec:
    """An SQLite store with ``users`` users, inserted with the store's own SQL in bulk."""
    db = directory / f"sqlite-{users}.db"
    key_file = directory / f"sqlite-{users}.key"
    for p in (db, key_file, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    create_key_file(key_file)
    url = f"sqlite:///{db}"
    open_store(url, key_file=str(key_file)).close()  # creates the schema
    keys = load_key_file(key_file)
    pin = Pin("hash", hashed or pin_hash())
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        batch = 50_000
        for start in range(0, users, batch):
            end = min(start + batch, users)
            conn.executemany(_sql.SQL["insert"], _rows(start, end, keys, pin))
            conn.executemany(_sql.SQL["token_insert"], _token_rows(start, end, keys))
        conn.execute("COMMIT")
        # Fold the bulk insert into the database file now, not during the measurement.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return StoreSpec("sqlite", url, key_file, users)


def make_users_file(directory: Path, users: int) -> StoreSpec:
    """A mod_authn_otp users file (plain PINs, as that format keeps them)."""
    path = directory / f"users-{users}.txt"
    for suffix in ("", ".lock", ".new", ".otpgate.json"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with open(path, "w") as f:
        f.write("# otpgate benchmark users\n")
        for i in range(users):
            f.write(f"HOTP/E u{i} {PIN} {user_key(i).hex()} 0\n")
    os.chmod(path, 0o600)
    return StoreSpec("users-file", f"users-file:{path}", None, users)


def _pg(dbname: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{dbname}"


def make_postgres(directory: Path, users: int, *, hashed: str | None = None) -> StoreSpec:
    """A fresh PostgreSQL database with ``users`` users (COPY); dropped by ``cleanup``."""
    import psycopg

    dbname = f"otpgate_bench_{users}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    key_file = directory / f"pg-{users}.key"
    key_file.unlink(missing_ok=True)
    create_key_file(key_file)
    url = f"{_pg(dbname)}?key_file={key_file}"
    schema = open_store(url)  # connects lazily: ping() creates the schema
    try:
        schema.ping()
    finally:
        schema.close()
    keys = load_key_file(key_file)
    pin = Pin("hash", hashed or pin_hash())
    with psycopg.connect(_pg(dbname)) as conn:
        cols = ", ".join(_sql.COLUMNS)
        with conn.cursor() as cur, cur.copy(f"COPY users ({cols}) FROM STDIN") as copy:
            for row in _rows(0, users, keys, pin):
                copy.write_row([row[c] for c in _sql.COLUMNS])
        tcols = ("username", "position", *tokens_sql.COLUMNS)
        with conn.cursor() as cur, cur.copy(f"COPY tokens ({', '.join(tcols)}) FROM STDIN") as copy:
            for row in _token_rows(0, users, keys):
                copy.write_row([row[c] for c in tcols])
        conn.execute("ANALYZE users")
        conn.execute("ANALYZE tokens")
        conn.commit()

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (dbname,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')

    return StoreSpec("postgresql", url, None, users, cleanup=drop)


# --- the gate -----------------------------------------------------------------------


def write_config(directory: Path, store: StoreSpec, extra: str = "") -> Path:
    path = directory / f"gate-{store.kind}-{store.users}.toml"
    key = f'key_file = "{store.key_file}"' if store.key_file else ""
    path.write_text(
        f"""
[store]
url = "{store.url}"
{key}

[auth]
{extra}

[web]
portal_url = "/otpgate"
session_secrets = ["{SECRET}"]
instance = "{INSTANCE}"
cookie_secure = false
trusted_proxies = ["127.0.0.1"]
"""
    )
    return path


# name -> description.  "serve" is the headline: the shipped command with its shipped
# defaults (no access log, uvicorn's messages from warning up).  The other servers load
# the very same app through the factory the CLI uses for --workers
# (otpgate.cli.serve:worker_app) and are given the same logging defaults.
SERVERS: dict[str, str] = {
    "serve": "otpgate serve, shipped defaults (uvicorn, httptools + uvloop, 1 process)",
    "serve-w2": "otpgate serve --workers 2",
    "serve-no-fast": "otpgate serve --no-fast-path (uvicorn's own protocol: /auth through ASGI)",
    "serve-access-log": "otpgate serve --access-log (uvicorn's access log on)",
    "uvicorn-h11": "uvicorn --http h11 --loop asyncio, 1 process",
    "uvicorn-w1": "uvicorn httptools + uvloop, 1 process (as serve, app by import string)",
    "uvicorn-w2": "uvicorn httptools + uvloop, --workers 2",
    "granian-w1": "granian --interface asgi --loop uvloop, 1 worker",
    "granian-w2": "granian --interface asgi --loop uvloop, --workers 2",
    "granian-st": "granian, 1 worker, HTTP/1 only, single-threaded runtime",
    "uvicorn-lean": "uvicorn httptools + uvloop, 1 process, no Date header, no websockets",
}
# The default server list: the shipped command and the alternatives worth trying.
DEFAULT_SERVERS = ["serve", "uvicorn-h11", "uvicorn-w2", "granian-w1", "granian-w2"]
FACTORY = "otpgate.cli.serve:worker_app"


def server_argv(name: str, config: Path, port: int) -> list[str]:
    """The command line of server ``name`` on 127.0.0.1:``port``."""
    serve = serve_argv(config, port, command=[str(Path(PY).parent / "otpgate")])
    local = ["--host", "127.0.0.1", "--port", str(port)]
    # What `otpgate serve` does by default, spelled in each server's own options.
    quiet = ["--no-access-log", "--log-level", "warning"]
    uv = [PY, "-m", "uvicorn", "--factory", FACTORY, *local, *quiet]
    uv += ["--no-proxy-headers", "--no-server-header"]
    gr = [str(Path(PY).parent / "granian"), "--interface", "asgi", "--factory", *local]
    gr += ["--loop", "uvloop", *quiet]
    argv = {
        "serve": serve,
        "serve-w2": [*serve, "--workers", "2"],
        "serve-no-fast": [*serve, "--no-fast-path"],
        "serve-access-log": [*serve, "--access-log"],
        "uvicorn-h11": [*uv, "--http", "h11", "--loop", "asyncio"],
        "uvicorn-w1": [*uv, "--http", "httptools", "--loop", "uvloop"],
        "uvicorn-w2": [*uv, "--http", "httptools", "--loop", "uvloop", "--workers", "2"],
        "granian-w1": [*gr, "--workers", "1", FACTORY],
        "granian-w2": [*gr, "--workers", "2", FACTORY],
        "granian-st": [
            *gr,
            *("--workers", "1", "--http", "1", "--no-ws", "--runtime-mode", "st"),
            *("--runtime-threads", "1", FACTORY),
        ],
        "uvicorn-lean": [
            *uv,
            *("--http", "httptools", "--loop", "uvloop", "--ws", "none", "--no-date-header"),
        ],
    }
    if name not in argv:
        raise ValueError(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    return argv[name]


@contextlib.contextmanager
def run_gate(
    config: Path,
    directory: Path,
    server: str = "serve",
    src: Path | None = None,
    cpus: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """The gate under ``server``; yields (port, process).

    ``src``: run the otpgate of another checkout (its ``src`` folder), for a
    before/after comparison in one sitting (bench/limit.py ``--before``).
    ``cpus``: pin the gate to these CPUs (``taskset -c``, e.g. ``0`` or ``0-1``).
    """
    port = free_port()
    log = directory / f"gate-{server}-{port}.log"
    env = {
        **os.environ,
        "OTPGATE_CONFIG": str(config),
        "PYTHONPATH": str(src or ROOT / "src"),
    }
    argv = server_argv(server, config, port)
    if cpus is not None:
        argv = ["taskset", "-c", cpus, *argv]
    with started(argv, port, log, f"gate ({server})", env=env, cwd=directory) as proc:
        wait_healthy(port)
        yield port, proc


def wait_healthy(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def session_cookie(user: str = "u0", ip: str = "127.0.0.1") -> str:
    """A genuine session cookie, signed with the gate's secret (as /login issues it)."""
    from otpgate.web.sessions import Session, SessionCodec

    now = time.time()
    codec = SessionCodec([SECRET.encode()], 600.0, None, INSTANCE)
    binding = codec.binding(user_key(int(user.removeprefix("u"))))
    return codec.encode(Session(user, now, now, ip, binding))


def basic(user: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


# --- nginx --------------------------------------------------------------------------

NGINX_SITE = """
    upstream otpgate {{
        server 127.0.0.1:{gate};
        {keepalive}
    }}

    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {dir}/www;

        location = /_auth {{
            internal;
            proxy_pass http://otpgate/auth?redirect=401;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            {upstream_http}
            {cache}
        }}

        # The ceiling: the same file, no auth.
        location /open/ {{ }}
{null}

        location /app/ {{
            auth_request /_auth;
            auth_request_set $otpgate_user $upstream_http_remote_user;
            add_header X-Remote-User $otpgate_user;
        }}
    }}
"""

# Caching auth decisions in nginx: an option, never the headline figure.  Keyed
# by the session cookie; the gate says no-store, so nginx must be told to ignore it.
CACHE_PATH = "proxy_cache_path {dir}/tmp/authcache keys_zone=authcache:1m max_size=10m;"
CACHE = """proxy_cache authcache;
            proxy_cache_key "$cookie_otpgate_session$http_authorization";
            proxy_cache_valid 200 5s;
            proxy_ignore_headers Cache-Control Expires Set-Cookie;"""


@contextlib.contextmanager
def run_nginx(
    directory: Path,
    gate_port: int,
    *,
    keepalive: bool = True,
    workers: int = 1,
    cache: bool = False,
    body: bytes = b"",
    upstreams: str = "",
    locations: str = "",
) -> Iterator[tuple[int, Any]]:
    """nginx with /open/ (no auth) and /app/ (auth_request to the gate); yields (port, proc).

    ``upstreams`` and ``locations`` are added to the http and server blocks
    (bench/limit.py's null-auth contender).
    """
    port = free_port()
    d = directory / f"nginx-{port}"
    # nginx's workers run as nobody when started by root: the files must be readable.
    for p in (directory, d, d / "www"):
        p.mkdir(parents=True, exist_ok=True)
        p.chmod(0o755)
    for sub in ("open", "app", "null"):
        (d / "www" / sub).mkdir(parents=True, exist_ok=True)
        (d / "www" / sub).chmod(0o755)
        (d / "www" / sub / "index.html").write_bytes(body)
        (d / "www" / sub / "index.html").chmod(0o644)
    site = NGINX_SITE.format(
        dir=d,
        gate=gate_port,
        port=port,
        keepalive="keepalive 32;" if keepalive else "",
        upstream_http='proxy_http_version 1.1;\n            proxy_set_header Connection "";'
        if keepalive
        else "",
        cache=CACHE if cache else "",
        null=locations,
    )
    site = upstreams + site
    argv, log = nginx_conf(d, (CACHE_PATH.format(dir=d) if cache else "") + site, workers=workers)
    with started(argv, port, log, "nginx") as proc:
        yield port, proc


def static_body(size: int = 4096) -> bytes:
    head = b"<!doctype html><title>static</title><p>"
    return head + b"x" * (size - len(head) - 1) + b"\n"


def names(items: Sequence[str]) -> str:
    return ", ".join(items)
