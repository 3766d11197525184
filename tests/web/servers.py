"""Start real servers for the end-to-end tests: nginx and Apache, with the gate's store
and settings (the gate itself: :func:`procs.serving`).

Each runs on 127.0.0.1 and a free port, with its config, pid and log files in
the test's tmp_path, and is stopped (then killed) when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from conftest import missing
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


# --- Apache httpd + mod_wsgi ------------------------------------------------------------

APACHE_VENV_LOCK = Path("/tmp/otpgate-apache-venv.lock")


def _source_hash() -> str:
    import hashlib

    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for path in sorted((ROOT / "src/otpgate").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def apache_venv() -> Path:
    """A virtual environment Apache's www-data children can read, with otpgate in it.

    Debian's mod_wsgi is built for /usr/bin/python3, and /root (where the
    development Python lives) is closed to www-data; so: a venv of the system
    Python under /tmp, world-readable, cached by a hash of the sources.
    """
    import fcntl
    import shutil

    venv = Path(f"/tmp/otpgate-apache-venv-{_source_hash()}")
    with open(APACHE_VENV_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / "ready").exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        # Other worktrees' test runs may be using their own (other hash) venvs
        # right now: only what has not been touched for a day goes.
        for old in Path("/tmp").glob("otpgate-apache-venv-*"):
            if old.is_dir() and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        pip = [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check"]
        steps = [
            ["/usr/bin/python3", "-m", "venv", str(venv)],
            # Only what the Apache provider imports; the web stack is not needed there.
            [*pip, "argon2-cffi", "cryptography"],
            [*pip, "--no-deps", str(ROOT)],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                missing(
                    f"a venv of /usr/bin/python3 for Apache ({' '.join(step[:4])} failed: "
                    f"{done.stderr.strip()[-300:]}); needs python3-venv and the packages"
                )
        os.chmod(venv, 0o755)  # noqa: S103 - Apache's www-data children must read it
        (venv / "ready").write_text("")
        return venv


APACHE_CONF = """
ServerRoot /usr/lib/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {dir}/apache.pid
ErrorLog {dir}/apache-error.log
LogLevel warn
DefaultRuntimeDir {dir}/run
Mutex file:{dir}/run default
{user}

{mpm}
LoadModule authn_core_module modules/mod_authn_core.so
LoadModule authn_file_module modules/mod_authn_file.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule auth_basic_module modules/mod_auth_basic.so
LoadModule authz_user_module modules/mod_authz_user.so
LoadModule env_module modules/mod_env.so
LoadModule wsgi_module modules/mod_wsgi.so

WSGIScriptAlias /app {dir}/app.wsgi

{body}
"""

# Two children of eight threads: the shipped example's test.
APACHE_EVENT = """LoadModule mpm_event_module modules/mod_mpm_event.so
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16"""

# One connection per child, held for a minute between requests: a client that
# keeps its connection open keeps its child, and a new client gets another one.
APACHE_PREFORK = """LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
StartServers 4
MinSpareServers 3
MaxSpareServers 6
ServerLimit 8
MaxRequestWorkers 8
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0"""

APP_WSGI = """
import os

def application(environ, start_response):
    body = "REMOTE_USER=%s\\n" % environ.get("REMOTE_USER")
    # Which Apache child answered (the provider runs in the same one).
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Child", str(os.getpid()))]
    start_response("200 OK", headers)
    return [body.encode("utf-8")]
"""


@contextlib.contextmanager
def run_apache(apache: str, directory: Path, venv: Path, auth_script: str) -> Iterator[int]:
    """Apache with mod_wsgi, ``auth_script`` as the auth provider; yields its port."""
    (directory / "apache-auth.py").write_text(auth_script)
    example = (
        (ROOT / "examples/apache/otpgate.conf")
        .read_text()
        .replace("/opt/otpgate/venv", str(venv))
        .replace("/etc/otpgate/apache-auth.py", str(directory / "apache-auth.py"))
    )
    with run_apache_conf(
        apache, directory, "# --- examples/apache/otpgate.conf ---\n" + example
    ) as port:
        yield port


@contextlib.contextmanager
def run_apache_conf(
    apache: str, directory: Path, body: str, mpm: str = APACHE_EVENT
) -> Iterator[int]:
    """Apache with mod_wsgi, the app at ``/app`` and ``body`` (auth blocks); yields its port."""
    port = free_port()
    (directory / "run").mkdir(exist_ok=True)
    (directory / "app.wsgi").write_text(APP_WSGI)
    conf = directory / "apache.conf"
    # As root, Apache's children switch to www-data; as anyone else they stay that user.
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    conf.write_text(APACHE_CONF.format(port=port, dir=directory, user=user, mpm=mpm, body=body))
    log = directory / "apache-error.log"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "APACHE_RUN_DIR": str(directory / "run"),
    }
    with started([apache, "-f", str(conf), "-DFOREGROUND"], port, log, "apache2", env=env):
        yield port
