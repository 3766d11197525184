"""Part 2 (hot path) and part 6 (memory): already-authenticated requests under wrk.

a) wrk -> gate ``/auth`` with a valid session cookie, and with a lingering
   Basic credential (accepted once, then re-sent on every request);
b) wrk -> nginx -> ``auth_request`` -> gate -> nginx static file, against the
   same nginx serving the same file without auth (the ceiling), in the same run.

Each server option is measured ``runs`` times; figures are medians.  The
ceiling and the authenticated figure are measured alternately, so a change
in machine load hits both.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    WrkResult,
    cpu_seconds,
    loadavg,
    median_result,
    peak_rss_mb,
    rss_mb,
    tree_pids,
    wrk,
)
from _gate import (
    DEFAULT_SERVERS,
    SERVERS,
    basic,
    get,
    make_sqlite,
    password,
    run_gate,
    run_nginx,
    session_cookie,
    static_body,
    write_config,
)

WRK = {"threads": 2, "connections": 32}


def _creds(port: int) -> dict[str, list[str]]:
    cookie = f"Cookie: otpgate_session={session_cookie('u0')}"
    linger = basic("u1", password(1, 0))
    status = get(port, "/auth", {"Authorization": linger})
    if status != 200:
        raise RuntimeError(f"the first Basic login answered {status}")
    assert get(port, "/auth", {"Cookie": cookie.split(": ", 1)[1]}) == 200
    return {"cookie": [cookie], "basic-linger": [f"Authorization: {linger}"]}


def _cpu_wrk(pids: dict[str, list[int]], url: str, **kw: Any) -> WrkResult:
    """wrk, plus the CPU time each named process group spent per request (µs)."""
    before = {name: cpu_seconds(p) for name, p in pids.items()}
    res = wrk(url, **kw, **WRK)
    for name, p in pids.items():
        res.extra[f"{name}_cpu_us"] = (cpu_seconds(p) - before[name]) / max(res.requests, 1) * 1e6
    return res


def gate_direct(workdir: Path, servers: list[str], runs: int, duration: float) -> dict[str, Any]:
    """a) wrk -> gate /auth."""
    store = make_sqlite(workdir, 1000)
    config = write_config(workdir, store)
    out: dict[str, Any] = {}
    for server in servers:
        with run_gate(config, workdir, server) as (port, proc):
            creds = _creds(port)
            for name, headers in creds.items():
                # Warm-up: with several processes, each must first see the credential.
                wrk(f"http://127.0.0.1:{port}/auth", duration=2, headers=headers, **WRK)
                results = [
                    _cpu_wrk(
                        {"gate": tree_pids(proc.pid)},
                        f"http://127.0.0.1:{port}/auth",
                        duration=duration,
                        headers=headers,
                    )
                    for _ in range(runs)
                ]
                out[f"{server}/{name}"] = median_result(results)
                out[f"{server}/{name}"]["loadavg"] = loadavg()
                r = out[f"{server}/{name}"]
                print(
                    f"  gate {server:12} {name:13} {r['rps']:9.0f} req/s  "
                    f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                    f"gate CPU {r['gate_cpu_us']:.0f} µs/req",
                    flush=True,
                )
    return out


def through_nginx(
    workdir: Path,
    servers: list[str],
    runs: int,
    duration: float,
    *,
    keepalive_off: list[str] | None = None,
    cache: bool = True,
    basic_too: bool = False,
) -> dict[str, Any]:
    """b) wrk -> nginx -> auth_request -> gate -> static file, vs the no-auth ceiling."""
    store = make_sqlite(workdir, 1000)
    config = write_config(workdir, store)
    body = static_body()
    out: dict[str, Any] = {}
    variants: list[tuple[str, bool, bool]] = [(s, True, False) for s in servers]
    variants += [(s, False, False) for s in keepalive_off or []]
    if cache:
        variants.append((servers[0], True, True))
    for n, (server, keepalive, cached) in enumerate(variants):
        label = f"{server}/{'keepalive' if keepalive else 'no-keepalive'}"
        if cached:
            label += "/nginx-cache"
        with (
            run_gate(config, workdir, server) as (gport, gproc),
            run_nginx(workdir, gport, keepalive=keepalive, workers=1, cache=cached, body=body) as (
                nport,
                nproc,
            ),
        ):
            cookie = f"Cookie: otpgate_session={session_cookie('u0')}"
            assert get(nport, "/app/index.html", {"Cookie": cookie.split(": ", 1)[1]}) == 200
            assert get(nport, "/app/index.html") == 401
            assert get(nport, "/open/index.html") == 200
            app = f"http://127.0.0.1:{nport}/app/index.html"
            ceiling_url = f"http://127.0.0.1:{nport}/open/index.html"
            wrk(app, duration=1, headers=[cookie], **WRK)
            auth_runs, ceil_runs, basic_runs = [], [], []
            pids = {"gate": tree_pids(gproc.pid), "nginx": tree_pids(nproc.pid)}
            # A user of its own per variant: a linger lasts 600 s from its first use.
            linger = f"Authorization: {basic(f'u{10 + n}', password(10 + n, 0))}"
            if basic_too and not cached:
                assert get(nport, "/app/index.html", {"Authorization": linger[15:]}) == 200
                wrk(app, duration=2, headers=[linger], **WRK)
            for _ in range(runs):
                ceil_runs.append(_cpu_wrk(pids, ceiling_url, duration=duration, headers=[cookie]))
                auth_runs.append(_cpu_wrk(pids, app, duration=duration, headers=[cookie]))
                if basic_too and not cached:
                    basic_runs.append(_cpu_wrk(pids, app, duration=duration, headers=[linger]))
            a, c = median_result(auth_runs), median_result(ceil_runs)
            ratios = sorted(cr.rps / ar.rps for cr, ar in zip(ceil_runs, auth_runs, strict=True))
            out[label] = {
                "auth": a,
                "ceiling": c,
                "ceiling_over_auth": ratios[len(ratios) // 2],
                "loadavg": loadavg(),
            }
            if basic_runs:
                b = out[label]["basic_linger"] = median_result(basic_runs)
                print(
                    f"  nginx {label:36} basic-linger {b['rps']:8.0f} req/s p50 "
                    f"{b['p50_ms']:.2f} p99 {b['p99_ms']:.2f} ms | CPU/req gate "
                    f"{b['gate_cpu_us']:.0f} µs",
                    flush=True,
                )
            print(
                f"  nginx {label:36} auth {a['rps']:8.0f} req/s p50 {a['p50_ms']:.2f} "
                f"p99 {a['p99_ms']:.2f} ms | ceiling {c['rps']:8.0f} req/s "
                f"| ratio {out[label]['ceiling_over_auth']:.2f}x | CPU/req gate "
                f"{a['gate_cpu_us']:.0f} µs nginx {a['nginx_cpu_us']:.0f} µs "
                f"(ceiling nginx {c['nginx_cpu_us']:.0f} µs)",
                flush=True,
            )
    return out


def memory(workdir: Path, duration: float) -> dict[str, Any]:
    """Peak RSS of one gate process (otpgate serve) under the hot-path load via nginx.

    First sessions only (no PIN hash ever runs), then one Basic login and its
    lingering re-use: the single argon2id hash shows up in the peak.
    """
    store = make_sqlite(workdir, 1000)
    config = write_config(workdir, store)
    out: dict[str, Any] = {}
    cookie = [f"Cookie: otpgate_session={session_cookie('u0')}"]
    with (
        run_gate(config, workdir, "serve") as (gport, gproc),
        run_nginx(workdir, gport, body=static_body()) as (nport, _),
    ):
        pids = tree_pids(gproc.pid)
        assert len(pids) == 1, pids
        out["rss_idle_mb"] = rss_mb(gproc.pid)
        r1 = wrk(
            f"http://127.0.0.1:{nport}/app/index.html", duration=duration, headers=cookie, **WRK
        )
        r2 = wrk(f"http://127.0.0.1:{gport}/auth", duration=duration, headers=cookie, **WRK)
        out["sessions_requests"] = r1.requests + r2.requests
        out["sessions_rss_mb"] = rss_mb(gproc.pid)
        out["sessions_peak_rss_mb"] = peak_rss_mb(gproc.pid)
        linger = basic("u1", password(1, 0))
        assert get(gport, "/auth", {"Authorization": linger}) == 200
        r3 = wrk(
            f"http://127.0.0.1:{nport}/app/index.html",
            duration=duration,
            headers=[f"Authorization: {linger}"],
            **WRK,
        )
        out["linger_requests"] = r3.requests
        out["after_login_rss_mb"] = rss_mb(gproc.pid)
        out["after_login_peak_rss_mb"] = peak_rss_mb(gproc.pid)
    print(
        f"  memory: idle {out['rss_idle_mb']:.1f} MiB; peak {out['sessions_peak_rss_mb']:.1f} "
        f"MiB after {out['sessions_requests']} session requests; peak "
        f"{out['after_login_peak_rss_mb']:.1f} MiB after one login + "
        f"{out['linger_requests']} lingering Basic requests",
        flush=True,
    )
    return out


def run(
    quick: bool = False,
    servers: list[str] | None = None,
    parts: tuple[str, ...] = ("gate", "nginx", "memory"),
) -> dict[str, Any]:
    runs = 1 if quick else 3
    duration = 3.0 if quick else 10.0
    servers = servers or list(DEFAULT_SERVERS)
    started_at = time.time()
    result: dict[str, Any] = {
        "wrk": f"wrk -t{WRK['threads']} -c{WRK['connections']} -d{duration:g}s --latency",
        "runs": runs,
        "servers": {s: SERVERS[s] for s in servers},
    }
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-") as tmp:
        workdir = Path(tmp)
        if "gate" in parts:
            result["gate"] = gate_direct(workdir, servers, runs, duration)
        if "nginx" in parts:
            result["nginx"] = through_nginx(
                workdir,
                servers,
                runs,
                duration,
                # The no-keepalive comparison only when several options are compared.
                keepalive_off=[
                    s for s in ("serve", "uvicorn-w2") if s in servers and len(servers) > 2
                ],
                cache="serve" in servers,
                basic_too=True,
            )
        if "memory" in parts:
            result["memory"] = memory(workdir, duration)
    result["seconds"] = round(time.time() - started_at)
    return result


if __name__ == "__main__":
    import json
    import sys

    quick = "--quick" in sys.argv
    print(json.dumps(run(quick), indent=1))
