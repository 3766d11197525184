"""FreeRADIUS with the shipped examples/freeradius/ directory, and radclient.

The test copies the directory into its tmp_path and changes only what a test
must: the listen address and port (127.0.0.1, a free port), the run and log
directories, the venv path, the otpgate.toml path, the client secret, and
the ``user``/``group`` lines (FreeRADIUS then runs as the current user, who
owns the tmp files).  Everything else, the module and the site, is the file
an administrator installs.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from procs import free_port, stop, tail
from system_python import ROOT

EXAMPLE = ROOT / "examples/freeradius"


@dataclass
class RadiusServer:
    port: int
    secret: str
    directory: Path
    log: Path
    pid: int


@dataclass
class RadiusReply:
    code: str  # "Access-Accept", "Access-Reject", "Access-Challenge" or "timeout"
    attributes: dict[str, str] = field(default_factory=dict)


def _edit(path: Path, replacements: Sequence[tuple[str, str]]) -> None:
    text = path.read_text()
    for old, new in replacements:
        assert old in text, f"{path.name} no longer contains {old!r}: update the test"
        text = text.replace(old, new)
    path.write_text(text)


def adapt_config(
    raddb: Path,
    directory: Path,
    venv_site: Path,
    gate_config: Path,
    radiusd_edits: Sequence[tuple[str, str]] = (),
) -> tuple[int, str]:
    """Point an installed copy of examples/freeradius at the test's places: what an
    administrator edits (the client secret, the paths), and 127.0.0.1 with a free
    port.  Returns (port, secret).

    ``radiusd_edits`` are further (old, new) replacements in radiusd.conf.
    """
    for sub in ("run", "log"):
        (directory / sub).mkdir(exist_ok=True)
    port, secret = free_port(), secrets.token_hex(16)
    _edit(
        raddb / "radiusd.conf",
        [
            ("logdir = /var/log/freeradius", f"logdir = {directory}/log"),
            ("run_dir = /run/otpgate-radius", f"run_dir = {directory}/run"),
            *radiusd_edits,
        ],
    )
    _edit(raddb / "clients.conf", [("change-this-shared-secret", secret)])
    _edit(
        raddb / "sites-enabled/otpgate",
        [("ipaddr = *", "ipaddr = 127.0.0.1"), ("port = 1812", f"port = {port}")],
    )
    _edit(
        raddb / "mods-enabled/otpgate",
        [
            ("/opt/otpgate/venv/lib/python3.11/site-packages", str(venv_site)),
            ("/etc/otpgate/otpgate.toml", str(gate_config)),
        ],
    )
    return port, secret


def install_config(
    directory: Path,
    venv_site: Path,
    gate_config: Path,
    radiusd_edits: Sequence[tuple[str, str]] = (),
) -> tuple[Path, int, str]:
    """Copy examples/freeradius into ``directory``/raddb; returns (dir, port, secret).

    FreeRADIUS then runs as the current user (no ``user``/``group`` lines).
    """
    raddb = directory / "raddb"
    shutil.copytree(EXAMPLE, raddb)
    own_user = [("\tuser = freerad\n", "\n"), ("\tgroup = freerad\n", "\n")]
    port, secret = adapt_config(
        raddb, directory, venv_site, gate_config, [*own_user, *radiusd_edits]
    )
    # FreeRADIUS refuses a configuration others could change.
    for path in [raddb, *raddb.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return raddb, port, secret


@contextlib.contextmanager
def running(argv: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``freeradius -f ...`` (foreground, threaded) until the block ends; yields once it
    is ready (RADIUS is UDP: nothing to connect to, the log says when it listens)."""
    proc = subprocess.Popen(
        [*argv, "-l", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    try:
        deadline = time.monotonic() + 30
        while "Ready to process requests" not in tail(log):
            if proc.poll() is not None:
                raise RuntimeError(f"freeradius exited with {proc.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"freeradius did not get ready:\n{tail(log)}")
            time.sleep(0.05)
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def run_freeradius(
    freeradius: str,
    directory: Path,
    venv_site: Path,
    gate_config: Path,
    radiusd_edits: Sequence[tuple[str, str]] = (),
    after_install: Callable[[Path], None] | None = None,
) -> Iterator[RadiusServer]:
    """``freeradius -f`` with the shipped config; stopped at the end.

    ``after_install(raddb)`` may change the installed copy (the benchmark's
    rlm_rest variant).
    """
    raddb, port, secret = install_config(directory, venv_site, gate_config, radiusd_edits)
    if after_install is not None:
        after_install(raddb)
    log = directory / "freeradius.log"
    with running([freeradius, "-f", "-d", str(raddb)], log) as proc:
        yield RadiusServer(port, secret, directory, log, proc.pid)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def radclient(
    server: RadiusServer,
    requests: Sequence[Mapping[str, str]],
    *,
    parallel: int = 1,
    secret: str | None = None,
    timeout: int = 20,
) -> list[RadiusReply]:
    """Send Access-Requests with radclient; the replies in the order received."""
    lines = []
    for attrs in requests:
        pairs = [f"{name} = {_quote(value)}" for name, value in attrs.items()]
        # BlastRADIUS: the shipped clients.conf requires a Message-Authenticator.
        pairs.append("Message-Authenticator = 0x00")
        lines.append(",".join(pairs))
    done = subprocess.run(
        [
            "radclient",
            "-x",
            "-f",
            "-",
            "-p",
            str(parallel),
            "-t",
            str(timeout),
            "-r",
            "1",
            f"127.0.0.1:{server.port}",
            "auth",
            secret if secret is not None else server.secret,
        ],
        input="\n\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return parse_radclient(done.stdout + done.stderr)


def parse_radclient(output: str) -> list[RadiusReply]:
    replies: list[RadiusReply] = []
    current: RadiusReply | None = None
    for line in output.splitlines():
        m = re.match(r"Received (Access-\w+) Id", line)
        if m:
            current = RadiusReply(m.group(1))
            replies.append(current)
            continue
        if line.startswith(("Sent ", "(")):
            current = None
            if "No reply from server" in line:
                replies.append(RadiusReply("timeout"))
            continue
        m = re.match(r'\s+([\w-]+) = "?(.*?)"?$', line)
        if m and current is not None:
            current.attributes[m.group(1)] = m.group(2)
    return replies


def rest_variant(gate_port: int, api_key: str) -> Callable[[Path], None]:
    """``after_install``: examples/freeradius/rest/ over the installed copy, pointed at
    the gate on 127.0.0.1:``gate_port`` with ``api_key`` (what an administrator edits)."""

    def change(raddb: Path) -> None:
        shutil.copy(EXAMPLE / "rest/mods-enabled/otpgate", raddb / "mods-enabled/otpgate")
        _edit(
            raddb / "mods-enabled/otpgate",
            [("http://127.0.0.1:9090", f"http://127.0.0.1:{gate_port}")],
        )
        port = re.search(r"port = (\d+)", (raddb / "sites-enabled/otpgate").read_text())
        assert port is not None
        shutil.copy(EXAMPLE / "rest/sites-enabled/otpgate", raddb / "sites-enabled/otpgate")
        _edit(
            raddb / "sites-enabled/otpgate",
            [
                ("ipaddr = *", "ipaddr = 127.0.0.1"),
                ("port = 1812", f"port = {port.group(1)}"),
                ("change-this-api-key", api_key),
            ],
        )
        shutil.rmtree(raddb / "rest")
        for path in [raddb, *raddb.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)

    return change
