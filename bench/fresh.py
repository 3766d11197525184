"""Fresh logins against the PIN hash's own rate, with 1 and 2 workers (issue 23).

    .venv/bin/python bench/fresh.py                      # 5 rounds x 10 s
    .venv/bin/python bench/fresh.py --rounds 3 --duration 5 --servers serve,serve-w2
    .venv/bin/python bench/fresh.py --servers serve,serve-w2 --cpus 0,0-1 --two-hashes

Every round measures, one after the other: the shipped PIN hash alone
(``PinHasher().verify`` in this process, one thread: the hash's own rate on
one core) and fresh logins through each ``--servers`` option (wrk -t2 -c8
sending every ``Authorization: Basic u<i>:PIN+HOTP`` once, bench/fresh.lua, to
``/auth`` of a gate on an SQLite store of argon2id PIN hashes at the shipped
cost).  For each it records the rate and the CPU time spent per login (the
gate's processes from /proc, the hash's from ``time.process_time``).

The shared machine gives any process only part of a core, so rates from
different minutes do not compare; two figures do: *logins/s over the hash's
rate in the same round* and *hash CPU / login CPU* -- the share of a login's
CPU time that is the hash (1.0: a login costs the hash alone).

``--cpus 0,0-1``: every server once per CPU set, pinned with ``taskset -c``
(``serve@0``, ``serve@0-1``, ...), in the same rounds; the table then also gives
each server's rate on the most CPUs over its rate on the fewest, round by round
(2.0 on two cores: linear).  The gate's hash slots follow its affinity.
``--two-hashes``: the hash also in two threads at once, each round: what a hash
costs when two run side by side (as in a gate on two cores), a second baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import BENCH, RESULTS, cpu_seconds, loadavg, machine, tree_pids, wrk
from _gate import PIN, SERVERS, basic, make_sqlite, password, run_gate, write_config

from otpgate.login.pins import PinHasher

USERS = 20_000


def hash_alone(seconds: float, threads: int = 1) -> dict[str, float]:
    """The shipped hash in ``threads`` threads at once for about ``seconds``: rate, CPU each."""
    hasher = PinHasher()
    stored = hasher.hash(PIN)
    counts = [0] * threads
    cpu0, wall0 = time.process_time(), time.monotonic()

    def run(k: int) -> None:
        while time.monotonic() - wall0 < seconds:
            hasher.verify(stored, PIN)
            counts[k] += 1

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall, cpu, n = time.monotonic() - wall0, time.process_time() - cpu0, sum(counts)
    return {"per_second": n / wall, "cpu_ms": cpu / n * 1000, "count": n}


def logins(port: int, pids: list[int], headers: Path, seconds: float) -> dict[str, float]:
    before = cpu_seconds(pids)
    res = wrk(
        f"http://127.0.0.1:{port}/auth",
        threads=2,
        connections=8,
        duration=seconds,
        script=BENCH / "fresh.lua",
        script_args=[str(headers), "2"],
        timeout=10,
    )
    ok = res.requests - res.non2xx
    cpu = cpu_seconds(pids) - before
    return {
        "per_second": ok / seconds,
        "cpu_ms": cpu / max(ok, 1) * 1000,
        "p50_ms": res.p50_ms,
        "p99_ms": res.p99_ms,
        "refused": res.non2xx,
    }


def measure(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    store = make_sqlite(workdir, USERS)
    config = write_config(workdir, store)
    runs: dict[str, list[dict[str, float]]] = {"hash": [], "hash2": []}
    gates = {}
    import contextlib

    with contextlib.ExitStack() as stack:
        for s, cpus in _contenders(args):
            port, proc = stack.enter_context(run_gate(config, workdir, s, cpus=cpus))
            gates[_name(s, cpus)] = (port, tree_pids(proc.pid))
            runs[_name(s, cpus)] = []
        names = list(gates)
        per_round = USERS // (len(names) * args.rounds)
        loads = []
        for r in range(args.rounds):
            loads.append(loadavg())
            runs["hash"].append(hash_alone(args.duration))
            if args.two_hashes:
                runs["hash2"].append(hash_alone(args.duration, threads=2))
            for k, s in enumerate(names):
                first = (r * len(args.servers) + k) * per_round
                path = workdir / f"headers-{r}-{k}.txt"
                path.write_text(
                    "".join(
                        basic(f"u{i}", password(i, 0)) + "\n"
                        for i in range(first, first + per_round)
                    )
                )
                port, pids = gates[s]
                runs[s].append(logins(port, pids, path, args.duration))
                if runs[s][-1]["refused"]:
                    print(f"  ({runs[s][-1]['refused']} refused: out of users?)")
            print(
                f"  round {r + 1}: hash {runs['hash'][-1]['per_second']:.1f}/s "
                + " ".join(f"{s} {runs[s][-1]['per_second']:.1f}/s" for s in names),
                flush=True,
            )
        loads.append(loadavg())
    return _result(runs, names, loads)


def _name(server: str, cpus: str | None) -> str:
    return server if cpus is None else f"{server}@{cpus}"


def _contenders(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(server, CPU set) for every run of a round, the CPU sets of a server together."""
    return [(s, c) for s in args.servers for c in (args.cpus or [None])]


def scaling(result: dict[str, Any], servers: list[str], cpus: list[str]) -> dict[str, float]:
    """Per server, the median over rounds of (rate on the last CPU set / rate on the first)."""
    runs = result["runs"]
    out = {}
    for s in servers:
        few, many = runs[_name(s, cpus[0])], runs[_name(s, cpus[-1])]
        out[s] = statistics.median(
            m["per_second"] / max(f["per_second"], 1e-9) for f, m in zip(few, many, strict=True)
        )
    return out


def _median_row(rs: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: statistics.median(r[key] for r in rs) for key in keys}


def _ratios(rs: list[dict[str, float]], hashes: list[dict[str, float]]) -> tuple[float, float]:
    """Median over rounds of (rate / the hash's rate) and (hash CPU / login CPU)."""
    pairs = list(zip(rs, hashes, strict=True))
    return (
        statistics.median(r["per_second"] / h["per_second"] for r, h in pairs),
        statistics.median(h["cpu_ms"] / r["cpu_ms"] for r, h in pairs),
    )


def _result(
    runs: dict[str, list[dict[str, float]]], servers: list[str], loads: list[str]
) -> dict[str, Any]:
    hashes, hashes2 = runs["hash"], runs["hash2"]
    rows: dict[str, Any] = {"hash": _median_row(hashes, ("per_second", "cpu_ms"))}
    if hashes2:
        rows["hash2"] = _median_row(hashes2, ("per_second", "cpu_ms"))
    for s in servers:
        rs = runs[s]
        rows[s] = _median_row(rs, ("per_second", "cpu_ms", "p50_ms", "p99_ms"))
        rows[s]["vs_hash_rate"], rows[s]["hash_share_of_cpu"] = _ratios(rs, hashes)
        if hashes2:
            # Two hashes at once cost more CPU each (caches, memory bandwidth): the
            # baseline of a gate that runs two at once.
            rows[s]["vs_hash2_rate"], rows[s]["hash2_share_of_cpu"] = _ratios(rs, hashes2)
        rows[s]["rounds"] = [round(r["per_second"], 1) for r in rs]
    return {"rows": rows, "runs": runs, "loadavg": loads}


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    two = "hash2" in rows
    extra = " vs 2 hashes at once: rate | hash CPU / login CPU |" if two else ""
    lines = [
        "| contender | per second (median) | CPU ms each | vs the hash's rate, same round "
        "| hash CPU / login CPU |" + extra,
        "|---|---:|---:|---:|---:|" + ("---:|---:|" if two else ""),
    ]
    for name, r in rows.items():
        if name in ("hash", "hash2"):
            threads = 1 if name == "hash" else 2
            label = f"argon2id verify alone, {threads} thread{'s' if threads > 1 else ''}"
            cells = "| 1.00 | 1.00 |" if name == "hash" else "| | |"
            lines.append(f"| {label} | {r['per_second']:.1f} | {r['cpu_ms']:.1f} {cells}")
            continue
        line = (
            f"| fresh logins, {name} | {r['per_second']:.1f} | {r['cpu_ms']:.1f} "
            f"| {r['vs_hash_rate']:.2f} | {r['hash_share_of_cpu']:.2f} |"
        )
        if two:
            line += f" {r['vs_hash2_rate']:.2f} | {r['hash2_share_of_cpu']:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="serve,serve-w2", help="gate options (serve,serve-w2)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--save-as", default="fresh", help="results/<name>.json (fresh)")
    parser.add_argument(
        "--two-hashes",
        action="store_true",
        help="also the hash in 2 threads at once each round (the baseline of 2 cores)",
    )
    parser.add_argument(
        "--cpus", default="", help="CPU sets to pin each gate to, comma separated (0,0-1)"
    )
    args = parser.parse_args(argv)
    args.servers = [s for s in args.servers.split(",") if s]
    args.cpus = [c for c in args.cpus.split(",") if c]
    for s in args.servers:
        if s not in SERVERS:
            parser.error(f"unknown server {s!r}; known: {', '.join(SERVERS)}")
    info = machine()
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-fresh-") as tmp:
        result = measure(Path(tmp), args)
    result.update(machine=info, loadavg_end=loadavg(), rounds=args.rounds)
    if len(args.cpus) > 1:
        result["scaling"] = scaling(result, args.servers, args.cpus)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.save_as}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    for s, ratio in result.get("scaling", {}).items():
        print(f"{s}: CPUs {args.cpus[-1]} / {args.cpus[0]} = {ratio:.2f}x (median of rounds)")
    print(f"load average per round: {', '.join(result['loadavg'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
