"""What reading the settings costs a process (issue 19): import and ``load_config``.

Run::

    .venv/bin/python bench/config_cost.py                      # this tree
    .venv/bin/python bench/config_cost.py --src /tmp/old/src   # and another, interleaved

Apache's children (mod_wsgi), a PAM login's process and FreeRADIUS's workers
each import the settings and call ``load_config`` once, so what counts is a
fresh process: each round starts one per tree (``PYTHONPATH``), which imports
``otpgate`` (every front end does), then times ``import otpgate.config.loader``,
the first ``load_config`` of a file with all four tables, a ``[mod_authn_otp]``
table and two ``OTPGATE_*`` variables, and the best of 5 x 100 further calls.
Figures are medians and minimums over ``--rounds`` rounds, the trees taking
turns so that load changes hit both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TOML = """[store]
url = "sqlite:////var/lib/otpgate/otpgate.db"
key_file = "/etc/otpgate/store.key"
[auth]
max_linger = 600
max_otp_failures = 10
look_ahead = 5
[web]
portal_url = "https://auth.example.com"
session_secrets = ["0123456789abcdef0123"]
trusted_proxies = ["127.0.0.1", "::1", "10.0.0.0/8"]
[state]
url = "redis://127.0.0.1:6379/0"
[mod_authn_otp]
OTPAuthMaxLinger = 300
OTPAuthFallThrough = "On"
"""
ENV = {"OTPGATE_WEB_COOKIE_SECURE": "false", "OTPGATE_AUTH_MAX_IDLE": "30"}
PROBE = """
import json, sys, time
path, env = sys.argv[1], json.loads(sys.argv[2])
import otpgate
t0 = time.perf_counter()
import otpgate.config.loader as loader
t1 = time.perf_counter()
loader.load_config(path, env=env)
t2 = time.perf_counter()
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    for _ in range(100):
        loader.load_config(path, env=env)
    best = min(best, (time.perf_counter() - t) / 100)
got = {"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3, "load_us": best * 1e6}
print(json.dumps(got))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", default=[], help="another tree's src/")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    trees = {"this tree": str(Path(__file__).parents[1] / "src")}
    trees |= {src: src for src in args.src}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gate.toml"
        path.write_text(TOML)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, src in trees.items():
                out = subprocess.run(
                    [sys.executable, "-c", PROBE, str(path), json.dumps(ENV)],
                    env={**os.environ, "PYTHONPATH": src},
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=60,
                    cwd=tmp,
                )
                runs[name].append(json.loads(out.stdout))
    print("| tree | import ms (median, min) | first load_config ms | load_config µs |")
    print("|---|---:|---:|---:|")
    for name, got in runs.items():
        cells = [
            f"{statistics.median(r[k] for r in got):.2f}, {min(r[k] for r in got):.2f}"
            for k in ("import_ms", "first_ms", "load_us")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
