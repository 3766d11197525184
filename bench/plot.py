"""Plots for docs/benchmarks.md from bench/results/*.json.

.venv/bin/python bench/plot.py   # writes docs/img/bench-*.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
IMG = ROOT / "docs" / "img"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _stamp(fig: Any, data: dict[str, Any]) -> None:
    m = data["machine"]
    fig.text(
        0.01,
        0.005,
        f"{m['date']}; {m['nproc']} x {m['cpu']}; Python {m['python']}; "
        f"load avg {m['loadavg_start']}",
        fontsize=7,
        color="gray",
    )


def hotpath(data: dict[str, Any], out: Path) -> None:
    res = data["result"]
    gate = res.get("gate", {})
    nginx = res.get("nginx", {})
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [1, 1.25]})
    # a) gate direct
    ax = axes[0]
    order = list(data["result"].get("servers", {}))
    servers = sorted(
        {k.split("/")[0] for k in gate}, key=lambda s: order.index(s) if s in order else 99
    )
    kinds = ["cookie", "basic-linger"]
    width = 0.38
    for j, kind in enumerate(kinds):
        vals = [gate.get(f"{s}/{kind}", {}).get("rps", 0) for s in servers]
        bars = ax.bar([i + (j - 0.5) * width for i in range(len(servers))], vals, width, label=kind)
        for b, s in zip(bars, servers, strict=True):
            r = gate.get(f"{s}/{kind}")
            if r:
                ax.annotate(
                    f"p99 {r['p99_ms']:.0f} ms",
                    (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    rotation=90,
                )
    ax.set_xticks(range(len(servers)), servers, rotation=20, fontsize=8)
    ax.set_ylabel("requests/s (median)")
    ax.set_title("a) wrk -t2 -c32 -> gate /auth")
    ax.legend(fontsize=8)
    # b) through nginx
    ax = axes[1]
    labels = list(nginx)
    auth = [nginx[k]["auth"]["rps"] for k in labels]
    ceil = [nginx[k]["ceiling"]["rps"] for k in labels]
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], ceil, 0.4, label="no auth (ceiling)", color="#bbbbbb")
    bars = ax.bar([x + 0.2 for x in xs], auth, 0.4, label="auth_request -> gate", color="C2")
    for b, k in zip(bars, labels, strict=True):
        a = nginx[k]["auth"]
        ax.annotate(
            f"p50 {a['p50_ms']:.1f} / p99 {a['p99_ms']:.0f} ms",
            (b.get_x() + b.get_width() / 2, b.get_height()),
            ha="center",
            va="bottom",
            fontsize=6,
            rotation=90,
        )
    ax.axhline(10_000, color="red", lw=0.8, ls="--", label="target 10,000 req/s")
    short = [k.replace("/keepalive", "").replace("/no-keepalive", " no-ka") for k in labels]
    ax.set_xticks(list(xs), short, rotation=25, fontsize=7, ha="right")
    ax.set_title("b) wrk -t2 -c32 -> nginx -> auth_request -> gate -> static file")
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _stamp(fig, data)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def scale(data: dict[str, Any], out: Path) -> None:
    res = data["result"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for kind, color in (("sqlite", "C0"), ("postgresql", "C1"), ("users-file", "C3")):
        sizes = res.get(kind)
        if not sizes:
            continue
        ns = sorted(int(n) for n in sizes)
        p50 = [sizes[str(n)]["gate"]["p50_ms"] for n in ns]
        p99 = [sizes[str(n)]["gate"]["p99_ms"] for n in ns]
        axes[0].plot(ns, p50, "o-", color=color, label=f"{kind} p50")
        axes[0].plot(ns, p99, "o--", color=color, alpha=0.6, label=f"{kind} p99")
        w50 = [sizes[str(n)]["store"]["write_p50_us"] / 1000 for n in ns]
        g50 = [sizes[str(n)]["store"]["get_p50_us"] / 1000 for n in ns]
        axes[1].plot(ns, w50, "o-", color=color, label=f"{kind} write (CAS) p50")
        axes[1].plot(ns, g50, "s:", color=color, alpha=0.7, label=f"{kind} read p50")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("users in the store")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("ms")
    axes[0].set_title("fresh login through the gate (cheap PIN hash)")
    axes[1].set_title("store work per login, in process")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _stamp(fig, data)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def logins(data: dict[str, Any], out: Path) -> None:
    fresh = data["result"].get("fresh", {})
    if not fresh:
        return
    labels = list(fresh)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bars = ax.bar(range(len(labels)), [fresh[k]["rps"] for k in labels], color="C4")
    for b, k in zip(bars, labels, strict=True):
        r = fresh[k]
        ax.annotate(
            f"p99 {r['p99_ms']:.0f} ms\nRSS {r['peak_rss_mb']:.0f} MiB",
            (b.get_x() + b.get_width() / 2, b.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
    ax.set_ylabel("accepted fresh logins/s (median)")
    ax.set_title("fresh PIN+OTP logins (wrk -t2 -c8, each request a new HOTP code)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _stamp(fig, data)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    made = []
    for part, fn in (("hotpath", hotpath), ("scale", scale), ("logins", logins)):
        # The full run's results, and any saved under <part>-<suffix> (re-runs).
        for path in sorted(RESULTS.glob(f"{part}*.json")):
            name = path.stem
            if name != part and not name.startswith(part + "-"):
                continue
            data = _load(name)
            assert data is not None
            out = IMG / f"bench-{name}.png"
            fn(data, out)
            made.append(str(out.relative_to(ROOT)))
    print("wrote " + (", ".join(made) if made else "nothing (no results)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
