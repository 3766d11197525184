"""Part 5: login latency against the number of users.

For each store and size: (1) fresh logins through the gate, one at a time,
for users drawn at random from the whole table (p50/p99 seen by the client);
(2) the store's own work per login, in process: ``get`` and the
compare-and-set write (for the users file, that write is the whole-file
rewrite under the lock).

The PIN hash would hide the store's share (argon2id with the default cost
takes longer than everything else together), so the users here have a cheap
argon2id hash (t=1, 64 KiB); part 3 measures logins with the real cost.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import loadavg
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
from otpgate.store import open_store

CHEAP = PinHasher(time_cost=1, memory_cost=64, parallelism=1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _gate_logins(workdir: Path, store: StoreSpec, sample: list[int]) -> dict[str, float]:
    config = write_config(workdir, store)
    lat: list[float] = []
    with run_gate(config, workdir, "serve") as (port, _proc):
        # One login first: opens connections, warms caches.
        assert get(port, "/auth", {"Authorization": basic("u1", password(1, 0))}) == 200
        for i in sample:
            header = {"Authorization": basic(f"u{i}", password(i, 0))}
            t = time.perf_counter()
            status = get(port, "/auth", header)
            lat.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"login of u{i} answered {status}")
    return {"p50_ms": statistics.median(lat), "p99_ms": _pct(lat, 0.99), "n": len(lat)}


def _store_ops(store: StoreSpec, sample: list[int]) -> dict[str, float]:
    s = open_store(store.url, key_file=str(store.key_file) if store.key_file else None)
    gets: list[float] = []
    writes: list[float] = []
    try:
        for i in sample:
            t = time.perf_counter()
            rec = s.get(f"u{i}")
            gets.append((time.perf_counter() - t) * 1e6)
            assert rec is not None
            token = dataclasses.replace(rec.state.token, counter=rec.state.token.counter + 1)
            t = time.perf_counter()
            new = s.compare_and_set(rec.username, rec.version, dataclasses.replace(rec.state,
                                    token=token, last_auth=time.time()))  # fmt: skip
            writes.append((time.perf_counter() - t) * 1e6)
            assert new is not None
    finally:
        s.close()
    return {
        "get_p50_us": statistics.median(gets),
        "get_p99_us": _pct(gets, 0.99),
        "write_p50_us": statistics.median(writes),
        "write_p99_us": _pct(writes, 0.99),
    }


def _measure(workdir: Path, store: StoreSpec, n_logins: int, n_ops: int) -> dict[str, Any]:
    rng = random.Random(store.users)
    # Disjoint samples: each user logs in once (a fresh code), the in-process
    # writes use other users.
    picks = rng.sample(range(2, store.users), min(n_logins + n_ops, store.users - 2))
    result: dict[str, Any] = {"users": store.users}
    result["gate"] = _gate_logins(workdir, store, picks[:n_logins])
    result["store"] = _store_ops(store, picks[n_logins:])
    if store.kind == "users-file":
        path = store.url.removeprefix("users-file:")
        result["file_mb"] = os.path.getsize(path) / 1e6
    result["loadavg"] = loadavg()
    g, o = result["gate"], result["store"]
    print(
        f"  scale {store.kind:10} {store.users:>9,} users: login p50 {g['p50_ms']:6.1f} ms "
        f"p99 {g['p99_ms']:6.1f} ms | get p50 {o['get_p50_us']:8.0f} µs | write p50 "
        f"{o['write_p50_us']:8.0f} µs p99 {o['write_p99_us']:8.0f} µs",
        flush=True,
    )
    return result


def run(
    quick: bool = False, kinds: tuple[str, ...] = ("sqlite", "postgresql", "users-file")
) -> dict[str, Any]:
    big = 100_000 if quick else 1_000_000
    n_logins, n_ops = (60, 60) if quick else (300, 300)
    hashed = CHEAP.hash("4711")
    out: dict[str, Any] = {"pin_hash": "argon2id t=1 m=64KiB p=1 (cheap on purpose)"}
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            sizes = [1000, 10_000, 100_000] if kind == "users-file" else [1000, big]
            out[kind] = {}
            for n in sizes:
                t = time.perf_counter()
                if kind == "sqlite":
                    store = make_sqlite(workdir, n, hashed=hashed)
                elif kind == "postgresql":
                    store = make_postgres(workdir, n, hashed=hashed)
                else:
                    store = make_users_file(workdir, n)
                build = time.perf_counter() - t
                try:
                    logins = n_logins if kind != "users-file" or n < 100_000 else n_logins // 3
                    r = _measure(workdir, store, logins, n_ops if n < 100_000 else n_ops // 3)
                finally:
                    if store.cleanup:
                        store.cleanup()
                r["build_s"] = build
                out[kind][str(n)] = r
                if kind == "sqlite":
                    Path(store.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=1))
