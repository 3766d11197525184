"""Shared helpers for the benchmark parts: process accounting, wrk, machine facts.

Starting and stopping servers is tests/procs.py's job, shared with the tests
and re-exported here.  Everything runs on 127.0.0.1; every server started is
stopped by the context manager that started it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable

# The process helpers are the tests' own (tests/procs.py): one copy for both.
sys.path.insert(0, str(ROOT / "tests"))
from procs import (  # noqa: E402, F401 - re-exported for the bench parts
    free_port,
    nginx_conf,
    serve_argv,
    started,
    stop,
    tail,
    wait_for_port,
)

# --- process accounting -------------------------------------------------------------


def tree_pids(pid: int) -> list[int]:
    import psutil

    try:
        p = psutil.Process(pid)
        return [pid] + [c.pid for c in p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the processes (from /proc via psutil)."""
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
    return total


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of one process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- wrk ----------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    errors: int
    extra: dict[str, Any] = field(default_factory=dict)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if m is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    url: str,
    *,
    threads: int = 2,
    connections: int = 32,
    duration: float = 10,
    headers: Sequence[str] = (),
    script: Path | None = None,
    script_args: Sequence[str] = (),
    timeout: float = 5,
) -> WrkResult:
    """One wrk run; raises if wrk fails.  Latency percentiles from ``--latency``."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    argv = [
        exe,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={timeout:g}s",
        "--latency",
    ]
    for h in headers:
        argv += ["-H", h]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    reqs = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        rps=rps,
        p50_ms=_ms(pct["50"]),
        p99_ms=_ms(pct["99"]),
        requests=reqs,
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(x) for x in errs.groups()) if errs else 0,
    )


def median_result(runs: Sequence[WrkResult]) -> dict[str, Any]:
    """Medians of several wrk runs, plus every run's rps."""
    cpu = {
        key: statistics.median(r.extra[key] for r in runs)
        for key in runs[0].extra
        if key.endswith("_cpu_us")
    }
    return {
        **cpu,
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "non2xx": sum(r.non2xx for r in runs),
        "errors": sum(r.errors for r in runs),
        "runs": [asdict(r) for r in runs],
    }


# --- machine ------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _tool_version(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=10)
    except OSError:
        return "-"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "-"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine() -> dict[str, str]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "nginx": _tool_version(["nginx", "-v"]),
        "wrk": _tool_version(["wrk", "-v"]).split(" Copyright")[0],
        "uvicorn": _version("uvicorn"),
        "uvloop": _version("uvloop"),
        "httptools": _version("httptools"),
        "granian": _version("granian"),
        "starlette": _version("starlette"),
        "argon2-cffi": _version("argon2-cffi"),
        "psycopg": _version("psycopg"),
        "sqlite": __import__("sqlite3").sqlite_version,
        "postgresql": _tool_version(
            [
                "psql",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-c",
                "SHOW server_version",
            ]
        ),
        "loadavg_start": loadavg(),
        # Allocator settings change the memory figures (docs/benchmarks.md, part 3).
        "malloc_env": " ".join(
            f"{k}={v}" for k, v in os.environ.items() if k.startswith("MALLOC_")
        ),
    }
