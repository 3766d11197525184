"""otpgate benchmark suite: one command, one table.

    .venv/bin/python bench/run.py                 # everything (about 30 minutes)
    .venv/bin/python bench/run.py --quick         # one short run of each (a few minutes)
    .venv/bin/python bench/run.py --only hotpath  # one part (repeat --only for more)
    .venv/bin/python bench/run.py --table         # print the table of the saved results

Parts: core, hotpath, memory, logins, attack, scale (see docs/benchmarks.md).
Every part writes bench/results/<part>.json (with the machine and the load
average); ``bench/plot.py`` turns those into docs/img/*.png.  Servers run on
127.0.0.1 only and are stopped when their part ends.  Not part of CI.

Needs Debian's wrk and nginx, PostgreSQL at 127.0.0.1:5432 (user postgres,
trust) for the PostgreSQL figures, and the bench extra (granian, psutil,
matplotlib, py-spy).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import loadavg, machine

PARTS = ("core", "hotpath", "memory", "logins", "attack", "scale")

TARGET_RPS = 10_000
TARGET_RATIO = 3.0
TARGET_RSS_MB = 100.0
TARGET_SCALE = 2.0


def run_core(quick: bool) -> dict[str, Any]:
    import core

    number, repeat = (5_000, 3) if quick else (20_000, 9)
    out = {"number": number, "repeat": repeat, "scenarios": {}}
    for scenario in core.SCENARIOS:
        r = core._bench(scenario, number, repeat)
        out["scenarios"][scenario.name] = r
        print(
            f"  core {scenario.name:32} otpgate {r['otpgate']:.2f} µs  pyotp {r['pyotp']:.2f} "
            f"µs  floor {r['floor']:.2f} µs",
            flush=True,
        )
    return out


def run_part(
    name: str, quick: bool, servers: list[str] | None = None, stores: list[str] | None = None
) -> dict[str, Any]:
    if name == "core":
        return run_core(quick)
    if name in ("hotpath", "memory"):
        import hotpath

        parts = ("gate", "nginx") if name == "hotpath" else ("memory",)
        return hotpath.run(quick, servers, parts=parts)
    if name in ("logins", "attack"):
        import logins

        parts = ("hash", "logins") if name == "logins" else ("attack",)
        return logins.run(quick, parts=parts, stores=stores)
    if name == "scale":
        import scale

        return scale.run(quick)
    raise SystemExit(f"unknown part {name!r}; parts: {', '.join(PARTS)}")


# --- the table ----------------------------------------------------------------------


def _load(name: str) -> dict[str, Any] | None:
    path = _common.RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def rows(suffix: str = "") -> list[tuple[str, str, str, str]]:
    """(part, measurement, figure, target) for every saved result (``<part><suffix>.json``)."""
    out: list[tuple[str, str, str, str]] = []
    core = _load("core" + suffix)
    if core:
        for name, r in core["result"]["scenarios"].items():
            out.append(
                (
                    "core",
                    f"TOTP verify, {name}",
                    f"{r['otpgate']:.2f} µs (pyotp {r['pyotp']:.2f}, floor {r['floor']:.2f})",
                    f"{r['pyotp'] / r['otpgate']:.2f}x faster than pyotp",
                )
            )
    hot = _load("hotpath" + suffix)
    if hot:
        res = hot["result"]
        for label, r in res.get("gate", {}).items():
            out.append(
                (
                    "hot a",
                    f"wrk -> gate /auth, {label}",
                    f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.2f} / p99 {r['p99_ms']:.2f} ms",
                    "",
                )
            )
        best = None
        for label, r in res.get("nginx", {}).items():
            a, c = r["auth"], r["ceiling"]
            cached = "nginx-cache" in label
            target = (
                "option, not the headline"
                if cached
                else (
                    f"{_met(a['rps'] >= TARGET_RPS)} >=10k; "
                    f"{_met(r['ceiling_over_auth'] <= TARGET_RATIO)} <=3x"
                )
            )
            out.append(
                (
                    "hot b",
                    f"nginx auth_request, {label}",
                    f"{a['rps']:,.0f} req/s p50 {a['p50_ms']:.2f}/p99 {a['p99_ms']:.2f} ms; "
                    f"ceiling {c['rps']:,.0f} ({r['ceiling_over_auth']:.2f}x)",
                    target,
                )
            )
            if "basic_linger" in r:
                b = r["basic_linger"]
                out.append(
                    (
                        "hot b",
                        f"nginx auth_request, {label}, lingering Basic",
                        f"{b['rps']:,.0f} req/s p50 {b['p50_ms']:.2f}/p99 {b['p99_ms']:.2f} ms",
                        _met(b["rps"] >= TARGET_RPS) + " >=10k",
                    )
                )
            if not cached and (best is None or a["rps"] > best[1]["auth"]["rps"]):
                best = (label, r)
        if best:
            out.append(
                (
                    "hot b",
                    f"winner: {best[0]}",
                    f"{best[1]['auth']['rps']:,.0f} req/s",
                    f"{_met(best[1]['auth']['rps'] >= TARGET_RPS)} >=10k",
                )
            )
    mem = _load("memory" + suffix)
    if mem:
        m = mem["result"]["memory"]
        out.append(
            (
                "memory",
                "peak RSS, one gate process, sessions hot path",
                f"{m['sessions_peak_rss_mb']:.1f} MiB (idle {m['rss_idle_mb']:.1f})",
                f"{_met(m['sessions_peak_rss_mb'] < TARGET_RSS_MB)} <100 MB",
            )
        )
        out.append(
            (
                "memory",
                "peak RSS after one login + lingering Basic",
                f"{m['after_login_peak_rss_mb']:.1f} MiB",
                f"{_met(m['after_login_peak_rss_mb'] < TARGET_RSS_MB)} <100 MB",
            )
        )
    lg = _load("logins" + suffix)
    if lg:
        for name, r in lg["result"].get("pin_hash", {}).items():
            out.append(("logins", f"argon2id verify, {name}", f"{r['ms']:.1f} ms", ""))
        for label, r in lg["result"].get("fresh", {}).items():
            out.append(
                (
                    "logins",
                    f"fresh PIN+OTP logins, {label}",
                    f"{r['rps']:.1f}/s, p50 {r['p50_ms']:.0f} / p99 {r['p99_ms']:.0f} ms, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MiB",
                    "",
                )
            )
    at = _load("attack" + suffix)
    if at:
        r = at["result"]["attack"]
        a, b, u = r["attack_alone"], r["baseline"], r["legit_under_attack"]
        out.append(
            (
                "attack",
                "wrong passwords, one user, one IP",
                f"{a['rps']:,.0f} req/s answered, {a['gate_cpu_us_per_request']:.0f} µs "
                f"CPU/request ({a['gate_cpu_cores']:.2f} cores)",
                "no slow hash per attempt",
            )
        )
        out.append(
            (
                "attack",
                "legit login latency alone / under attack",
                f"p50 {b['p50_ms']:.0f} / {u['p50_ms']:.0f} ms, "
                f"p99 {b['p99_ms']:.0f} / {u['p99_ms']:.0f} ms",
                "",
            )
        )
    sc = _load("scale" + suffix)
    if sc:
        res = sc["result"]
        for kind in ("sqlite", "postgresql", "users-file"):
            sizes = res.get(kind)
            if not sizes:
                continue
            small = sizes.get("1000")
            for n, r in sizes.items():
                g, s = r["gate"], r["store"]
                target = ""
                if small and n != "1000" and kind != "users-file":
                    ratio = g["p99_ms"] / small["gate"]["p99_ms"]
                    ratio50 = g["p50_ms"] / small["gate"]["p50_ms"]
                    target = (
                        f"{_met(ratio50 <= TARGET_SCALE and ratio <= TARGET_SCALE)} "
                        f"<=2x (p50 {ratio50:.2f}x, p99 {ratio:.2f}x)"
                    )
                out.append(
                    (
                        "scale",
                        f"{kind}, {int(n):,} users",
                        f"login p50 {g['p50_ms']:.1f} / p99 {g['p99_ms']:.1f} ms; write "
                        f"p50 {s['write_p50_us'] / 1000:.2f} ms",
                        target,
                    )
                )
    return out


def print_table() -> None:
    results = _common.RESULTS
    if not list(results.glob("*.json")):
        print("no results yet: run bench/run.py first")
        return
    suffixes = sorted(
        {
            p.stem[len(part) :]
            for p in results.glob("*.json")
            for part in PARTS
            if p.stem.startswith(part + "-")
        }
    )
    for suffix in ["", *suffixes]:
        table = rows(suffix)
        if table:
            if suffix:
                print(f"\n(results saved as <part>{suffix})")
            _print(table)


def _print(table: list[tuple[str, str, str, str]]) -> None:
    w = [max(len(r[i]) for r in table) for i in range(4)]
    head = ("part", "measurement", "figure", "target")
    w = [max(w[i], len(head[i])) for i in range(4)]
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    print("  ".join("-" * x for x in w))
    for r in table:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short run of each")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part")
    parser.add_argument("--table", action="store_true", help="print the saved results' table")
    parser.add_argument(
        "--results",
        metavar="DIR",
        help=f"where results are saved and read (default {_common.RESULTS})",
    )
    parser.add_argument(
        "--servers",
        help="hotpath: comma-separated server options (see bench/_gate.py SERVERS)",
    )
    parser.add_argument(
        "--stores",
        help="logins: comma-separated stores (sqlite, sqlite-owasp-pin, users-file, postgresql)",
    )
    parser.add_argument(
        "--save-as",
        metavar="SUFFIX",
        help="save each part as <part>-SUFFIX.json (a re-run next to the full run's results)",
    )
    args = parser.parse_args(argv)
    if args.results:
        _common.RESULTS = Path(args.results)
    if not args.table:
        _common.RESULTS.mkdir(parents=True, exist_ok=True)
        for name in args.only or PARTS:
            print(f"== {name} (load average {loadavg()})", flush=True)
            before = machine()
            t = time.time()
            servers = args.servers.split(",") if args.servers else None
            stores = args.stores.split(",") if args.stores else None
            result = run_part(name, args.quick, servers, stores)
            data = {
                "part": name,
                "quick": args.quick,
                "machine": before,
                "loadavg_end": loadavg(),
                "seconds": round(time.time() - t),
                "result": result,
            }
            save = f"{name}-{args.save_as}" if args.save_as else name
            (_common.RESULTS / f"{save}.json").write_text(
                json.dumps(data, indent=1, default=str) + "\n"
            )
    print()
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
