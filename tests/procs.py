"""Starting and stopping the real servers that tests and benchmarks run.

One copy for both: the tests import it as ``procs`` (tests/ is on pytest's
path) and bench/_common.py puts tests/ on ``sys.path`` to import it too.  It
lives here rather than in the package because nothing a user installs needs
it.  Everything binds 127.0.0.1; whatever :func:`started` starts is stopped
(then killed) when its block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "OTPGATE",
    "free_port",
    "nginx_conf",
    "otpgate_env",
    "serve_argv",
    "serving",
    "started",
    "stop",
    "tail",
    "wait_for_port",
]

ROOT = Path(__file__).resolve().parents[1]
# The ``otpgate`` command from this Python, whether or not its console script is installed.
OTPGATE: tuple[str, ...] = (
    sys.executable,
    "-c",
    "from otpgate.cli import main; raise SystemExit(main())",
)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tail(log: Path) -> str:
    """The end of a log file, for an error message."""
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return "(no log)"


def wait_for_port(
    port: int,
    proc: subprocess.Popen[bytes] | None,
    log: Path,
    what: str,
    timeout: float = 30,
) -> None:
    """Wait until something accepts connections on the port.

    Raises:
        RuntimeError: the process exited first, or nothing listened in time
            (with the end of its log).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}:\n{tail(log)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, the process (and its process group when it leads one)."""
    if proc.poll() is not None:
        return
    try:
        # Only a session leader (start_new_session=True) has a group of its own id;
        # anything else gets ESRCH here and the signal alone.
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def started(
    argv: Sequence[str],
    port: int,
    log: Path,
    what: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own process group, output to ``log``, until the block ends.

    Yields once something listens on ``port``.
    """
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc, log, what, timeout)
        yield proc
    finally:
        stop(proc)


def otpgate_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with these sources on PYTHONPATH."""
    return {**(os.environ if base is None else base), "PYTHONPATH": str(ROOT / "src")}


def serve_argv(
    config: Path | str, port: int | None, *flags: str, command: Sequence[str] = OTPGATE
) -> list[str]:
    """``otpgate serve --config CONFIG --listen 127.0.0.1:PORT FLAGS``.

    Without ``port`` the gate listens where its settings say; ``command`` is
    how ``otpgate`` is run (default :data:`OTPGATE`; the benchmarks give the
    installed console script).
    """
    listen = ["--listen", f"127.0.0.1:{port}"] if port is not None else []
    return [*command, "serve", "--config", str(config), *listen, *flags]


@contextlib.contextmanager
def serving(
    config: Path | str,
    directory: Path,
    *flags: str,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[int]:
    """``otpgate serve`` with ``config`` on 127.0.0.1 until the block ends; yields its port.

    It runs in ``directory`` and writes ``directory/gate.log`` (or ``log``);
    ``port`` is a free one unless given, ``env`` this process's environment
    unless given (:func:`otpgate_env` adds the sources either way).
    """
    port = free_port() if port is None else port
    argv = serve_argv(config, port, *flags)
    log = directory / "gate.log" if log is None else log
    with started(argv, port, log, "otpgate serve", env=otpgate_env(env), cwd=directory):
        yield port


_NGINX_MAIN = """
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log {error_level};
events {{ worker_connections {connections}; }}
http {{
    access_log {access_log};
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

{http}
}}
"""


def nginx_conf(
    directory: Path,
    http: str,
    *,
    workers: int = 1,
    connections: int = 1024,
    error_level: str = "warn",
    access_log: str = "off",
    nginx: str = "nginx",
) -> tuple[list[str], Path]:
    """Write ``directory/nginx.conf``: ``http`` inside ``http { }``, all paths in ``directory``.

    Returns the argv that runs it in the foreground and its error log.
    """
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        _NGINX_MAIN.format(
            workers=workers,
            dir=directory,
            connections=connections,
            error_level=error_level,
            access_log=access_log,
            http=http,
        )
    )
    log = directory / "nginx-error.log"
    return [nginx, "-c", str(conf), "-p", str(directory), "-e", str(log)], log
