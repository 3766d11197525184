"""``otpgate otp`` against Debian's ``oathtool`` on random keys, counters, times and hashes.

For each case, oathtool generates a whole window of codes in one call and
``otpgate otp`` (in-process) must print the same lines; then each tool must
verify a code the other one produced (oathtool through its own validation
mode), and both must refuse a code from just outside the window.

The cases come from a fixed seed so a failure can be reproduced; set
OTPGATE_INTEROP_SEED to explore others.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import missing, require_tool
from otpgate.cli import main
from otpgate.otp.keys import encode_base32

SEED = int(os.environ.get("OTPGATE_INTEROP_SEED", "20261128"))
N_CASES = 300

Capture = pytest.CaptureFixture[str]


@dataclass(frozen=True)
class Case:
    n: int
    key: bytes
    base32: bool
    totp: str | None  # hash name for TOTP, None for HOTP
    digits: int
    counter: int
    now: int
    step: int
    window: int

    def options(self) -> list[str]:
        """Options both tools understand the same way."""
        opts = ["-d", str(self.digits), "-w", str(self.window)]
        if self.totp is None:
            opts += ["-c", str(self.counter)]
        else:
            opts += [f"--totp={self.totp}", "-N", f"@{self.now}", "-s", str(self.step)]
        if self.base32:
            opts.append("-b")
        return opts

    def key_arg(self) -> str:
        return encode_base32(self.key) if self.base32 else self.key.hex()

    def start(self) -> int:
        return self.counter if self.totp is None else self.now // self.step


def _cases() -> list[Case]:
    rng = random.Random(SEED)
    cases = []
    for n in range(N_CASES):
        totp = rng.choice([None, "SHA1", "SHA256", "SHA512"])
        counter = rng.choice(
            [rng.randrange(0, 1000), rng.randrange(0, 1 << 32), rng.randrange(0, 1 << 63)]
        )
        cases.append(
            Case(
                n=n,
                # 10 bytes is the 80-bit minimum; 64 is SHA-512's block size and one past it
                # exercises the hashed-key path of HMAC.
                key=rng.randbytes(rng.choice([10, 16, 20, 32, 64, 65, rng.randrange(10, 100)])),
                base32=rng.random() < 0.3,
                totp=totp,
                digits=rng.choice([6, 7, 8]),
                counter=counter,
                now=rng.choice([rng.randrange(0, 1 << 31), rng.randrange(0, 1 << 34)]),
                step=rng.choice([30, 30, 60, rng.randrange(1, 300)]),
                window=rng.randrange(0, 6),
            )
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def oathtool() -> str:
    return require_tool("oathtool")


def _oathtool(exe: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, *argv], capture_output=True, text=True, timeout=30, check=False)


def _otpgate(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["otp", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_case_mix_covers_what_the_issue_asks() -> None:
    assert len(CASES) >= 300
    assert {c.totp for c in CASES} == {None, "SHA1", "SHA256", "SHA512"}
    assert {c.digits for c in CASES} == {6, 7, 8}
    assert any(c.base32 for c in CASES) and not all(c.base32 for c in CASES)
    assert any(len(c.key) > 64 for c in CASES) and any(c.counter >= 1 << 32 for c in CASES)


@pytest.mark.oathtool
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"case{c.n}")
def test_generate_and_verify_agree(oathtool: str, capsys: Capture, case: Case) -> None:
    opts, key = case.options(), case.key_arg()
    theirs = _oathtool(oathtool, *opts, key)
    assert theirs.returncode == 0, theirs.stderr
    codes = theirs.stdout.split()
    assert len(codes) == case.window + 1

    # Generate: the same window, line for line.
    rc, out, err = _otpgate(capsys, *opts, key)
    assert rc == 0
    # The only thing on stderr may be the short-key advice for 80..127-bit keys.
    assert ("warning" in err) == (len(case.key) < 16)
    assert out.split() == codes, f"seed {SEED} case {case}"

    rng = random.Random(SEED * 1000 + case.n)
    start = case.start()

    # oathtool's code, verified by otpgate: it reports the absolute counter or step.
    i = rng.randrange(len(codes))
    rc, out, err = _otpgate(capsys, *opts, key, codes[i])
    assert rc == 0, err
    matched = int(out)
    if case.totp is None:
        # HOTP takes the first counter in the window with this code.
        assert matched == start + codes.index(codes[i])
    else:
        # TOTP searches both sides of now and takes the closest step; a six-digit
        # collision in the lower half could legitimately win, so check the code itself.
        assert abs(matched - start) <= i
        rc, out, _ = _otpgate(capsys, *_at(case, matched), key)
        assert out.strip() == codes[i]

    # otpgate's code, verified by oathtool's validation mode (it prints the distance).
    j = rng.randrange(len(codes))
    checked = _oathtool(oathtool, *opts, key, codes[j])
    assert checked.returncode == 0, checked.stderr
    if codes.count(codes[j]) == 1 and case.totp is None:
        assert int(checked.stdout) == j

    # Just past the window: both refuse (unless the code collides inside it).
    start_back = max(start - case.window, 0) if case.totp else start
    *inside, beyond = _codes(capsys, case, key, start_back, start + case.window + 1)
    if beyond not in inside:
        assert _otpgate(capsys, *opts, key, beyond)[0] == 2
        assert _oathtool(oathtool, *opts, key, beyond).returncode != 0


def _at(case: Case, counter: int) -> list[str]:
    """Options generating exactly one code, for an absolute counter or step."""
    if case.totp is None:
        return ["-d", str(case.digits), "-c", str(counter)] + (["-b"] if case.base32 else [])
    when = counter * case.step
    return [
        "-d",
        str(case.digits),
        f"--totp={case.totp}",
        "-N",
        f"@{when}",
        "-s",
        str(case.step),
    ] + (["-b"] if case.base32 else [])


def _codes(capsys: Capture, case: Case, key: str, first: int, last: int) -> list[str]:
    """otpgate's codes for counters or steps ``first..last``."""
    rc, out, _ = _otpgate(capsys, *_at(case, first), "-w", str(last - first), key)
    assert rc == 0
    return out.split()


@pytest.mark.oathtool
@pytest.mark.parametrize("case", CASES[:4], ids=lambda c: f"case{c.n}")
def test_console_script_agrees_with_oathtool(oathtool: str, case: Case) -> None:
    """The installed ``otpgate`` command (not only main()), key on stdin as advised."""
    exe = Path(sys.executable).parent / "otpgate"
    if not exe.exists():
        missing("the otpgate console script is not installed (pip install -e .)")
    theirs = _oathtool(oathtool, *case.options(), case.key_arg())
    ours = subprocess.run(
        [str(exe), "otp", *case.options(), "-"],
        input=case.key_arg() + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
