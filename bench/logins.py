"""Part 3 (fresh logins), part 4 (attack traffic) and the PIN hash's cost.

Fresh logins: wrk sends ``Authorization: Basic u<i>:PIN+HOTP(key_i, run)`` to
``/auth``, each header once (bench/fresh.lua), so every request is a new OTP
for its user and takes the full path: store read, OTP check, PIN hash,
compare-and-set write.

Attack: wrk hammers ``/auth`` with wrong passwords for one user from one
address while a legitimate user signs in (one fresh login at a time) from a
Python thread; the gate's CPU time comes from /proc (psutil).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import BENCH, cpu_seconds, loadavg, median_result, peak_rss_mb, tree_pids, wrk
from _gate import (
    StoreSpec,
    basic,
    get,
    make_postgres,
    make_sqlite,
    make_users_file,
    password,
    run_gate,
    write_config,
)

from otpgate.login.pins import PinHasher

LOGIN_WRK = {"threads": 2, "connections": 8}
OWASP = PinHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _headers_file(directory: Path, users: range, counter: int) -> Path:
    path = directory / f"headers-{users.start}-{users.stop}-{counter}.txt"
    path.write_text("".join(basic(f"u{i}", password(i, counter)) + "\n" for i in users))
    return path


def fresh_logins(
    workdir: Path,
    makers: dict[str, Callable[[], StoreSpec]],
    servers: list[str],
    runs: int,
    duration: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, make in makers.items():
        for server in servers:
            store = make()
            try:
                config = write_config(workdir, store)
                with run_gate(config, workdir, server) as (port, proc):
                    results = []
                    for r in range(runs):
                        headers = _headers_file(workdir, range(store.users), r)
                        res = wrk(
                            f"http://127.0.0.1:{port}/auth",
                            duration=duration,
                            script=BENCH / "fresh.lua",
                            script_args=[str(headers), str(LOGIN_WRK["threads"])],
                            timeout=10,
                            **LOGIN_WRK,
                        )
                        ok = res.requests - res.non2xx
                        res.extra = {"logins": ok, "exhausted": ok >= store.users}
                        res.rps = ok / duration  # accepted logins per second
                        results.append(res)
                    peak = max(peak_rss_mb(p) for p in tree_pids(proc.pid))
            finally:
                if store.cleanup:
                    store.cleanup()
            m = median_result(results)
            m["peak_rss_mb"] = peak
            m["users"] = store.users
            m["loadavg"] = loadavg()
            out[f"{kind}/{server}"] = m
            print(
                f"  logins {kind:11} {server:11} {m['rps']:7.1f} logins/s  p50 "
                f"{m['p50_ms']:.0f} ms  p99 {m['p99_ms']:.0f} ms  non-2xx {m['non2xx']}  "
                f"peak RSS {peak:.0f} MiB",
                flush=True,
            )
    return out


def pin_hash_cost(repeat: int = 7) -> dict[str, Any]:
    """Single-thread cost of one argon2id verification, for a few parameter sets."""
    sets = {
        "argon2-cffi default / RFC 9106 low-memory (t=3, m=64 MiB, p=4)": PinHasher(),
        "OWASP (t=2, m=19 MiB, p=1)": OWASP,
        "OWASP alt (t=1, m=47 MiB, p=1)": PinHasher(
            time_cost=1, memory_cost=47 * 1024, parallelism=1
        ),
    }
    out: dict[str, Any] = {}
    for name, hasher in sets.items():
        stored = hasher.hash("4711")
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            hasher.verify(stored, "4711")
            times.append(time.perf_counter() - t)
        out[name] = {
            "ms": statistics.median(times) * 1000,
            "memory_kib": hasher.memory_cost,
            "time_cost": hasher.time_cost,
            "parallelism": hasher.parallelism,
        }
        print(f"  argon2id {name:62} {out[name]['ms']:7.1f} ms", flush=True)
    return out


class _Legit(threading.Thread):
    """One user signing in again and again, one fresh code at a time."""

    def __init__(self, port: int, users: range, stop_after: float) -> None:
        super().__init__(daemon=True)
        self.port, self.users, self.stop_after = port, users, stop_after
        self.latencies: list[float] = []
        self.failures = 0

    def run(self) -> None:
        deadline = time.monotonic() + self.stop_after
        for i in self.users:
            if time.monotonic() > deadline:
                break
            t = time.perf_counter()
            status = get(self.port, "/auth", {"Authorization": basic(f"u{i}", password(i, 0))})
            self.latencies.append(time.perf_counter() - t)
            if status != 200:
                self.failures += 1


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def attack(workdir: Path, duration: float) -> dict[str, Any]:
    store = make_sqlite(workdir, 2000)
    config = write_config(workdir, store)
    out: dict[str, Any] = {}
    with run_gate(config, workdir, "serve") as (port, proc):
        pids = tree_pids(proc.pid)
        # The legitimate user alone first (baseline), then under attack.
        legit = _Legit(port, range(1000, 1500), duration)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        legit.start()
        legit.join()
        base_cpu = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
        out["baseline"] = {
            "logins": len(legit.latencies),
            "p50_ms": _pct(legit.latencies, 0.5),
            "p99_ms": _pct(legit.latencies, 0.99),
            "failures": legit.failures,
            "gate_cpu_cores": base_cpu,
        }
        wrong = basic("u0", "4711000000")  # a wrong PIN+OTP for a real user
        url = f"http://127.0.0.1:{port}/auth"
        # The attack alone: the gate's CPU per answered request.
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        res = wrk(
            url, threads=1, connections=16, duration=duration, headers=[f"Authorization: {wrong}"]
        )
        cpu = cpu_seconds(pids) - cpu0
        out["attack_alone"] = {
            "rps": res.rps,
            "p50_ms": res.p50_ms,
            "p99_ms": res.p99_ms,
            "requests": res.requests,
            "non2xx": res.non2xx,
            "gate_cpu_cores": cpu / (time.monotonic() - t0),
            "gate_cpu_us_per_request": cpu / max(res.requests, 1) * 1e6,
        }
        legit = _Legit(port, range(1500, 2000), duration)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        legit.start()
        res = wrk(
            url, threads=1, connections=16, duration=duration, headers=[f"Authorization: {wrong}"]
        )
        cpu = cpu_seconds(pids) - cpu0
        wall = time.monotonic() - t0
        legit.join()
        out["attack"] = {
            "rps": res.rps,
            "p50_ms": res.p50_ms,
            "p99_ms": res.p99_ms,
            "requests": res.requests,
            "non2xx": res.non2xx,
            "gate_cpu_cores": cpu / wall,
            "gate_cpu_us_per_request": cpu / max(res.requests, 1) * 1e6,
        }
        out["legit_under_attack"] = {
            "logins": len(legit.latencies),
            "p50_ms": _pct(legit.latencies, 0.5),
            "p99_ms": _pct(legit.latencies, 0.99),
            "failures": legit.failures,
        }
        out["loadavg"] = loadavg()
    a, b, u = out["attack_alone"], out["baseline"], out["legit_under_attack"]
    print(
        f"  attack: {a['rps']:.0f} wrong req/s answered (p99 {a['p99_ms']:.1f} ms), gate CPU "
        f"{a['gate_cpu_cores']:.2f} cores = {a['gate_cpu_us_per_request']:.0f} µs/request; "
        f"legit login p50/p99 {b['p50_ms']:.0f}/{b['p99_ms']:.0f} ms alone, "
        f"{u['p50_ms']:.0f}/{u['p99_ms']:.0f} ms under attack ({out['attack']['rps']:.0f} req/s) "
        f"(failures {b['failures']}/{u['failures']})",
        flush=True,
    )
    return out


def run(
    quick: bool = False,
    parts: tuple[str, ...] = ("hash", "logins", "attack"),
    stores: list[str] | None = None,
) -> dict[str, Any]:
    runs = 1 if quick else 3
    duration = 4.0 if quick else 10.0
    users = 5000
    out: dict[str, Any] = {
        "wrk": f"wrk -t{LOGIN_WRK['threads']} -c{LOGIN_WRK['connections']} "
        f"-d{duration:g}s -s bench/fresh.lua",
        "runs": runs,
    }
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-") as tmp:
        workdir = Path(tmp)
        if "hash" in parts:
            out["pin_hash"] = pin_hash_cost(3 if quick else 7)
        if "logins" in parts:
            hashed = PinHasher().hash("4711")
            # The hash string carries its parameters, so a store of OWASP-cost
            # hashes shows what that choice would give, with no code change.
            owasp = OWASP.hash("4711")
            makers: dict[str, Callable[[], StoreSpec]] = {
                "sqlite": lambda: make_sqlite(workdir, users, hashed=hashed),
                "sqlite-owasp-pin": lambda: make_sqlite(workdir, users, hashed=owasp),
                "users-file": lambda: make_users_file(workdir, users),
                "postgresql": lambda: make_postgres(workdir, users, hashed=hashed),
            }
            if stores:
                makers = {k: v for k, v in makers.items() if k in stores}
            out["fresh"] = fresh_logins(workdir, makers, ["serve", "uvicorn-w2"], runs, duration)
        if "attack" in parts:
            out["attack"] = attack(workdir, duration)
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=1, default=str))
