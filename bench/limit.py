"""The hot path against the limit of any ``auth_request`` server (issue 23).

    .venv/bin/python bench/limit.py                        # serve, 5 rounds x 10 s
    .venv/bin/python bench/limit.py --servers serve,granian-w1 --rounds 5 --duration 10

One nginx (1 worker) serves the same 4 KiB file under four locations:

* ``/open/``: no auth at all (nginx's own ceiling);
* ``/null/``: ``auth_request`` to a **second nginx** (1 worker, upstream
  keepalive) that answers 200 at once -- what nginx's subrequest costs with an
  auth server that does nothing, the limit of any auth server;
* ``/app/`` with a lingering Basic credential (``PIN+HOTP``, accepted once,
  then re-sent on every request) and with a session cookie: ``auth_request``
  to the gate under each ``--servers`` option (bench/_gate.py SERVERS).

Every round measures every contender once, one after the other, in a rotating
order; each row is the median over the rounds, and every gate row is given as
a ratio to the null-auth contender and to nginx without auth *of the same
round* (the median of those per-round ratios).  The machine is shared, so the
absolute figures move by the minute; the ratios are what compare.  The load
average is recorded before and after every round.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    WrkResult,
    cpu_seconds,
    loadavg,
    machine,
    nginx_conf,
    started,
    tree_pids,
    wrk,
)
from _common import free_port as _free_port
from _gate import (
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

# The limit of any auth server (bench/limit.py): auth_request to a second nginx
# that answers 200 at once, with the same upstream settings as the gate's.
NULL_AUTH = """
    upstream nullauth {{
        server 127.0.0.1:{port};
        keepalive 32;
    }}
"""
NULL_LOCATIONS = """
        location = /_null {
            internal;
            proxy_pass http://nullauth/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /null/ {
            auth_request /_null;
        }
"""

COOKIE = "cookie"  # a placeholder: a session cookie made for each run

NULL_SITE = """
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location / {{ return 200; }}
    }}
"""


@contextlib.contextmanager
def null_auth(directory: Path) -> Iterator[tuple[int, Any]]:
    """The second nginx: answers 200 to every request, at once; yields (port, process)."""
    port = _free_port()
    d = directory / f"null-nginx-{port}"
    d.mkdir(parents=True)
    d.chmod(0o755)
    argv, log = nginx_conf(d, NULL_SITE.format(port=port), workers=1)
    with started(argv, port, log, "null-auth nginx") as proc:
        yield port, proc


def _measure(url: str, headers: list[str], pids: list[int], args: argparse.Namespace) -> WrkResult:
    before = cpu_seconds(pids)
    res = wrk(
        url,
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        headers=headers,
    )
    res.extra["auth_cpu_us"] = (cpu_seconds(pids) - before) / max(res.requests, 1) * 1e6
    if res.non2xx or res.errors:
        raise RuntimeError(f"{url}: {res.non2xx} non-2xx answers, {res.errors} socket errors")
    return res


def _summary(runs: list[WrkResult]) -> dict[str, Any]:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "auth_cpu_us": statistics.median(r.extra["auth_cpu_us"] for r in runs),
        "rounds_rps": [round(r.rps) for r in runs],
    }


Contenders = dict[str, tuple[str, list[str], list[int]]]  # name -> (url, headers, pids)


def _headers(headers: list[str]) -> list[str]:
    """The headers to send now (a session cookie made for this run)."""
    if headers == [COOKIE]:
        return [f"Cookie: otpgate_session={session_cookie('u0')}"]
    return headers


def _start(stack: contextlib.ExitStack, workdir: Path, args: argparse.Namespace) -> Contenders:
    """The null-auth nginx, each gate with an nginx in front; every contender checked once."""
    config = write_config(workdir, make_sqlite(workdir, 1000))
    null_port, null_proc = stack.enter_context(null_auth(workdir))
    gates = {s: stack.enter_context(run_gate(config, workdir, s)) for s in args.servers}
    for s in args.servers if args.before else ():
        src = Path(args.before) / "src"
        gates[f"before:{s}"] = stack.enter_context(run_gate(config, workdir, s, src))
    contenders: Contenders = {}
    for n, (server, (gport, gproc)) in enumerate(gates.items()):
        nport, _ = stack.enter_context(
            run_nginx(
                workdir,
                gport,
                body=static_body(),
                upstreams=NULL_AUTH.format(port=null_port),
                locations=NULL_LOCATIONS,
            )
        )
        pids = tree_pids(gproc.pid)
        linger = basic(f"u{10 + n}", password(10 + n, 0))
        assert get(nport, "/app/index.html", {"Authorization": linger}) == 200
        cookie = session_cookie("u0")
        assert get(nport, "/app/index.html", {"Cookie": f"otpgate_session={cookie}"}) == 200
        assert get(nport, "/app/index.html") == 401
        app = f"http://127.0.0.1:{nport}/app/index.html"
        contenders[f"{server}/basic-linger"] = (app, [f"Authorization: {linger}"], pids)
        # A fresh cookie every run (_headers): a browser takes the refreshed cookie
        # the gate sends once a minute; this one would be refreshed on every request.
        contenders[f"{server}/cookie"] = (app, [COOKIE], pids)
    base = contenders[f"{args.servers[0]}/cookie"][0].removesuffix("/app/index.html")
    assert get(int(base.rsplit(":", 1)[1]), "/null/index.html") == 200
    return {
        "nginx-no-auth": (f"{base}/open/index.html", [], []),
        "null-auth": (f"{base}/null/index.html", [], tree_pids(null_proc.pid)),
        **contenders,
    }


def measure(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every contender ``args.rounds`` times, alternating; medians and same-round ratios."""
    with contextlib.ExitStack() as stack:
        contenders = _start(stack, workdir, args)
        for url, headers, _ in contenders.values():  # warm-up
            wrk(
                url,
                threads=args.threads,
                connections=args.connections,
                duration=1,
                headers=_headers(headers),
            )
        runs: dict[str, list[WrkResult]] = {name: [] for name in contenders}
        loads = []
        names = list(contenders)
        for r in range(args.rounds):
            loads.append(loadavg())
            for name in names[r % len(names) :] + names[: r % len(names)]:
                url, headers, pids = contenders[name]
                runs[name].append(_measure(url, _headers(headers), pids, args))
                print(f"  round {r + 1} {name:22} {runs[name][-1].rps:9.0f} req/s", flush=True)
        loads.append(loadavg())
    return _result(runs, loads)


def _ratio(runs: dict[str, list[WrkResult]], name: str, to: str) -> float:
    return statistics.median(a.rps / b.rps for a, b in zip(runs[name], runs[to], strict=True))


def _result(runs: dict[str, list[WrkResult]], loads: list[str]) -> dict[str, Any]:
    rows = {}
    for name, rs in runs.items():
        rows[name] = _summary(rs)
        rows[name]["vs_no_auth"] = _ratio(runs, name, "nginx-no-auth")
        rows[name]["vs_null_auth"] = _ratio(runs, name, "null-auth")
    return {"rows": rows, "loadavg": loads}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| contender | req/s (median) | p50 / p99 ms | auth server CPU µs/req "
        "| vs nginx without auth | vs nginx → null auth |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, r in result["rows"].items():
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} "
            f"| {r['auth_cpu_us']:.0f} | {r['vs_no_auth']:.2f} | {r['vs_null_auth']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Results: bench/results/<save-as>.json; the table on stdout (markdown).",
    )
    parser.add_argument(
        "--servers",
        default="serve",
        help=f"comma-separated gate options (default serve; {', '.join(SERVERS)})",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="also each server with the otpgate of this checkout (its src/), labelled "
        "before:SERVER: before and after in the same rounds",
    )
    parser.add_argument("--save-as", default="limit", help="results/<name>.json (limit)")
    args = parser.parse_args(argv)
    args.servers = [s for s in args.servers.split(",") if s]
    unknown = [s for s in args.servers if s not in SERVERS]
    if unknown:
        parser.error(f"unknown server {unknown[0]!r}; known: {', '.join(SERVERS)}")
    info = machine()
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-limit-") as tmp:
        result = measure(Path(tmp), args)
    result.update(
        machine=info,
        loadavg_end=loadavg(),
        wrk=f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s",
        rounds=args.rounds,
        servers={s: SERVERS[s] for s in args.servers},
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.save_as}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    print(f"load average per round: {', '.join(result['loadavg'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
