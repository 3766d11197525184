"""Start real servers for the end-to-end tests: nginx, with the gate's store and
settings (the gate itself: :func:`procs.serving`; Apache: tests/adapters).

Each runs on 127.0.0.1 and a free port, with its config, pid and log files in
the test's tmp_path, and is stopped (then killed) when the test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.tokens import TokenType
from otpgate.store import open_store
from otpgate.store.crypto import create_key_file
from otpgate.store.records import Pin, UserRecord
from procs import free_port, nginx_conf, started

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-session-secret-0123456789abcdef"
NGINX_ALICE_KEY = b"nginx-alice-key-0001"
NGINX_BOB_KEY = b"nginx-bob---key-0002"
NGINX_ERIN_KEY = b"nginx-erin--key-0003"
NGINX_USERS = [
    ("alice", "1111", NGINX_ALICE_KEY),
    ("bob", "2222", NGINX_BOB_KEY),
    ("erin", "3333", NGINX_ERIN_KEY),
]


def make_store(directory: Path, users: Sequence[tuple[str, str, bytes]]) -> tuple[str, Path]:
    """An SQLite store with TOTP users (name, PIN, key); returns (url, key file)."""
    db = directory / "otpgate.db"
    key_file = directory / "otpgate.key"
    create_key_file(key_file)
    url = f"sqlite:///{db}"
    store = open_store(url, key_file=str(key_file))
    try:
        for name, pin, key in users:
            store.add(
                UserRecord(
                    name, TokenType("HOTP", 30, 6), key, Pin("hash", FAST_TEST_HASHER.hash(pin))
                )
            )
    finally:
        store.close()
    return url, key_file


def write_gate_config(directory: Path, store_url: str, key_file: Path, extra: str = "") -> Path:
    path = directory / "otpgate.toml"
    path.write_text(
        f"""
[store]
url = "{store_url}"
key_file = "{key_file}"

[web]
portal_url = "/otpgate"
session_secrets = ["{SECRET}"]
cookie_secure = false
{extra}
"""
    )
    return path


# The application behind the gate: echoes the user nginx hands it.
NGINX_UPSTREAM = """
    server {{
        listen 127.0.0.1:{upstream};
        default_type text/html;
        location / {{
            return 200 "<!doctype html><title>App</title><h1>Hello $http_remote_user</h1>
<p>You asked for $request_uri</p><a href=/otpgate/logout>Sign out</a>\\n";
        }}
    }}
"""


@contextlib.contextmanager
def run_nginx(nginx: str, directory: Path, gate_port: int) -> Iterator[int]:
    """nginx with examples/nginx/otpgate.conf in front of an echo upstream; yields its port."""
    port, upstream = free_port(), free_port()
    site = (ROOT / "examples/nginx/otpgate.conf").read_text()
    site = (
        site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("127.0.0.1:9090", f"127.0.0.1:{gate_port}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{upstream}")
    )
    argv, log = nginx_conf(
        directory,
        NGINX_UPSTREAM.format(upstream=upstream) + site,
        connections=256,
        error_level="info",
        access_log=f"{directory}/nginx-access.log",
        nginx=nginx,
    )
    with started(argv, port, log, "nginx"):
        yield port
