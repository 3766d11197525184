"""Core verification cost: otpgate vs pyotp vs the raw-HMAC floor.

Run::

    .venv/bin/python bench/core.py            # a table on stdout
    .venv/bin/python bench/core.py --markdown # the table for docs/benchmarks.md
    .venv/bin/python bench/core.py --instructions  # callgrind: instructions per call

``--instructions`` counts what a loaded machine cannot disturb: each contender's
loop runs in a child process under ``valgrind --tool=callgrind`` for ``--number``
calls and for a fifth of them; the difference over the extra calls is the
instructions per call (start-up cancels out).

What is timed, per verification of a 6-digit TOTP code (SHA-1, 30 s steps)
with a window of one step either side:

* ``otpgate``: :func:`otpgate.otp.verify.verify` with one :class:`~otpgate.otp.verify.Token`
  reused across calls, as the Authenticator caches it.  It computes and
  compares every candidate, so always 3 HMACs.
* ``pyotp``: ``pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)``
  for the same key.  It stops at the first match.
* ``floor``: three bare ``hmac.digest(key, counter, "sha1")`` calls with the
  8-byte counters prepared in advance: the HMACs a window of +/-1 needs when
  every candidate is checked, done the obvious way with the standard library,
  with no truncation, formatting, comparison or bookkeeping at all.
* ``pad floor``: the same three HMACs the cheapest way Python has, the way
  otpgate computes them (:class:`otpgate.otp.algorithms.HmacKey`: the key
  padded into inner and outer hash states once, then per counter two
  ``copy``, ``update`` and ``digest``), again with nothing else.

Scenarios: the code matches the *last* candidate (now + 1 step, a phone
whose clock runs ahead), where pyotp also computes all 3 HMACs, so all three
do the same cryptographic work (the headline figure); the code matches *now*,
where pyotp stops after 2 HMACs (and otpgate still computes 3, so that timing
does not tell which candidate matched); and a *wrong* code (3 each).

Each figure is the median over ``--repeat`` runs of ``--number`` calls; the
ratios divide medians.  Nothing here is run by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import importlib.metadata
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from otpgate.errors import NoMatch
from otpgate.otp.algorithms import HmacKey
from otpgate.otp.keys import encode_base32
from otpgate.otp.tokens import TokenType
from otpgate.otp.verify import Policy, Token, TokenState, verify

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
NOW = 1_700_000_015  # inside a step, away from its edges
STEP = 30


@dataclass(frozen=True)
class Scenario:
    name: str
    offset: int | None  # the step of the code relative to now; None: a wrong code
    pyotp_hmacs: int  # HMACs pyotp computes before it answers


SCENARIOS = [
    Scenario("code = last candidate (now+1)", 1, 3),
    Scenario("code = now", 0, 2),
    Scenario("wrong code", None, 3),
]


def _us_per_call(fn: Callable[[], object], number: int) -> float:
    return timeit.timeit(fn, number=number) / number * 1e6


def _contenders(scenario: Scenario) -> dict[str, Callable[[], object]]:
    """The four contenders for ``scenario``, each checked to give the right answer."""
    token = Token(TokenType("HOTP", STEP, 6, "SHA1"), KEY)
    now_step = NOW // STEP
    if scenario.offset is None:
        in_window = {token.code(now_step + i) for i in (-1, 0, 1)}
        code = next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in in_window)
    else:
        code = token.code(now_step + scenario.offset)
    # A token that has logged in before (ten steps ago), as in production.
    state = TokenState(0, now_step - 10)
    policy = Policy(window=1)
    totp = pyotp.TOTP(encode_base32(KEY), digits=6, interval=STEP)
    counters = [(now_step + i).to_bytes(8, "big") for i in (-1, 0, 1)]
    expected = scenario.offset is not None

    # Every contender must give the right answer before it is timed.
    assert totp.verify(code, for_time=NOW, valid_window=1) is expected
    _check_otpgate(
        token, state, code, policy, None if not expected else now_step + (scenario.offset or 0)
    )

    def run_otpgate() -> None:
        # try/except rather than contextlib.suppress, whose set-up would be timed too.
        try:  # noqa: SIM105
            verify(token, state, code, now=NOW, policy=policy)
        except NoMatch:
            pass

    def run_pyotp() -> None:
        totp.verify(code, for_time=NOW, valid_window=1)

    return {"otpgate": run_otpgate, "pyotp": run_pyotp, **_floors(counters)}


def _check_otpgate(
    token: Token, state: TokenState, code: str, policy: Policy, matched: int | None
) -> None:
    """otpgate's answer: ``matched`` (``None``: the code must be refused)."""
    if matched is not None:
        assert verify(token, state, code, now=NOW, policy=policy).matched == matched
        return
    try:
        verify(token, state, code, now=NOW, policy=policy)
    except NoMatch:
        return
    raise AssertionError("otpgate accepted a wrong code")


def _floors(counters: list[bytes]) -> dict[str, Callable[[], object]]:
    """The two floors: 3 bare ``hmac.digest`` calls, and 3 HMACs from precomputed pads."""
    digest = hmac.digest

    def run_floor() -> None:
        for counter in counters:
            digest(KEY, counter, "sha1")

    # The cheapest 3 HMACs in Python: the inner and outer states padded with the
    # key once (otpgate.otp.algorithms.HmacKey), then copy, update, digest.
    pads = HmacKey(KEY, "SHA1")
    inner_copy, outer_copy = pads._inner.copy, pads._outer.copy

    def run_pad_floor() -> None:
        for counter in counters:
            h = inner_copy()
            h.update(counter)
            o = outer_copy()
            o.update(h.digest())
            o.digest()

    return {"floor": run_floor, "pad_floor": run_pad_floor}


def _bench(scenario: Scenario, number: int, repeat: int) -> dict[str, float]:
    contenders = _contenders(scenario)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    # Interleave the contenders so a change in machine load hits all of them alike.
    for _ in range(repeat):
        for name, fn in contenders.items():
            samples[name].append(_us_per_call(fn, number))
    return {name: statistics.median(values) for name, values in samples.items()}


def _run_child(contender: str, scenario: int, number: int) -> None:
    """The loop callgrind counts: ``number`` calls of one contender."""
    fn = _contenders(SCENARIOS[scenario])[contender]
    for _ in range(number):
        fn()


def _collected(contender: str, scenario: int, number: int) -> int:
    """Instructions executed by a child process running ``number`` calls, per callgrind."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    cmd += [__file__, "--child", contender, str(scenario), str(number)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def _instructions(number: int) -> int:
    """Print instructions per call (callgrind), the difference of two loop lengths."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    base = number // 5
    names = ["otpgate", "pad_floor"]
    print(f"# instructions per call: (count({number} calls) - count({base})) / {number - base}")
    print(f"{'scenario':34} " + " ".join(f"{n:>10}" for n in names) + "  otpgate/pad")
    for i, scenario in enumerate(SCENARIOS):
        per = {
            n: (_collected(n, i, number) - _collected(n, i, base)) / (number - base) for n in names
        }
        cells = " ".join(f"{per[n]:10,.0f}" for n in names)
        print(f"{scenario.name:34} {cells}  {per['otpgate'] / per['pad_floor']:10.2f}x")
    return 0


def _machine() -> str:
    try:
        pyotp_version = importlib.metadata.version("pyotp")
    except importlib.metadata.PackageNotFoundError:
        pyotp_version = "?"
    return (
        f"{platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
        f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}, pyotp {pyotp_version}"
    )


def _print(rows: list[tuple[Scenario, dict[str, float]]], args: argparse.Namespace) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# {when}; {_machine()}")
    print(f"# median of {args.repeat} runs x {args.number} calls; microseconds per verification")
    if args.markdown:
        print()
        print(
            "| scenario | otpgate µs | pyotp µs | floor µs | pad floor µs | pyotp HMACs "
            "| otpgate / floor | otpgate / pad floor | pyotp / otpgate |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for scenario, r in rows:
            print(
                f"| {scenario.name} | {r['otpgate']:.2f} | {r['pyotp']:.2f} "
                f"| {r['floor']:.2f} | {r['pad_floor']:.2f} | {scenario.pyotp_hmacs} "
                f"| {r['otpgate'] / r['floor']:.2f}x | {r['otpgate'] / r['pad_floor']:.2f}x "
                f"| {r['pyotp'] / r['otpgate']:.2f}x |"
            )
    else:
        print(
            f"{'scenario':34} {'otpgate':>9} {'pyotp':>9} {'floor':>9} {'pad':>9} "
            f"{'otpgate/floor':>14} {'otpgate/pad':>12} {'pyotp/otpgate':>14}"
        )
        for scenario, r in rows:
            print(
                f"{scenario.name:34} {r['otpgate']:9.2f} {r['pyotp']:9.2f} {r['floor']:9.2f} "
                f"{r['pad_floor']:9.2f} {r['otpgate'] / r['floor']:13.2f}x "
                f"{r['otpgate'] / r['pad_floor']:11.2f}x {r['pyotp'] / r['otpgate']:13.2f}x"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per call with callgrind instead of timing (needs valgrind)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _run_child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    if args.instructions:
        return _instructions(args.number)

    rows = []
    for scenario in SCENARIOS:
        r = _bench(scenario, args.number, args.repeat)
        rows.append((scenario, r))

    _print(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
