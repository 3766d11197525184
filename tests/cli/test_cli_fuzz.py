"""No traceback from any command on any input: random argv and stdin through
the parser and the commands (issue 13).

The words are the CLI's own (commands, options, store URLs, token types, keys)
mixed with random text, so most examples get past the parser and into the
commands.  Servers are not started (the gate's runner is replaced); anything
else runs for real, in a scratch directory that persists across examples so
later ones meet stores, users and files made by earlier ones.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from otpgate.cli import _secrets, demo, main, serve
from otpgate.login.pins import FAST_TEST_HASHER

KEY_HEX = "3132333435363738393031323334353637383930"
COMMANDS = [
    ["otp"],
    ["uri"],
    ["init"],
    ["user"],
    ["user", "add"],
    ["user", "list"],
    ["user", "show"],
    ["user", "remove"],
    ["user", "set-pin"],
    ["user", "resync"],
    ["user", "lock"],
    ["user", "unlock"],
    ["user", "recovery-codes"],
    ["user", "replace-token"],
    ["user", "invite"],
    ["import"],
    ["export"],
    ["key", "rotate"],
    ["check"],
    ["config", "check"],
    ["serve"],
    ["demo"],
    [],
]
WORDS = [
    "--store", "--config", "--key-file", "--json", "--pin-stdin", "--pin-prompt", "--no-pin",
    "--pin-delegated", "--type", "--algorithm", "--key", "--base32", "--qr", "--qr-out",
    "--show-uri", "--issuer", "--serial", "--totp", "--totp=SHA256", "--totp=MD5", "--motp",
    "-c", "-s", "-N", "-S", "-d", "-w", "--hex", "--user", "--counter", "--into", "--to",
    "--src-key-file", "--dst-key-file", "--replace", "--ip", "--linger", "--max-failures",
    "--unlock-after", "--htpasswd", "--audit", "-v", "--listen", "--workers", "--log-level",
    "--access-log", "--drop-old", "--no-serve", "--dir", "-n", "--help", "--version",
    "--url", "--expires", "--reset", "--revoke", "1h", "0s", "https://auth.example.com",
    "alice", "bob", "a b", "", "-", "+", "@", "@nonexistent", "@otpgate.toml", "0", "1",
    "-1", "6", "30", "30s", "@59", "2009-02-13T23:31:30Z", "99999999999999999999999",
    KEY_HEX, "GEZDGNBVGY3TQOJQ", "xyz", "HOTP/T30", "HOTP/E", "MOTP", "TOTP", "HOTP/T30/4",
    "SHA1", "SHA512", "MD5", "memory:", "sqlite:///fz.db", "sqlite:///no/such/dir/x.db",
    "sqlite://host/x.db", "users-file:users", "users", "ftp://x", "postgresql://nobody@127.0.0.1:1/x",
    "otpgate.toml", "x.png", "x.svg", "x.gif", "127.0.0.1:0", "127.0.0.1:65535", "[::1]:9",
    "info", "warning", "287082", "755224", "é", "日本", "\x7f", "%s", "{}", "--",
]  # fmt: skip
STDIN = [
    b"", b"\n", b"4711\n", b"4711\n4711\n", KEY_HEX.encode() + b"\n4711\n", b"4711287082\0",
    b"\xff\xfe\n", b"x" * 5000, b"a b\n", b"-\n",
]  # fmt: skip
CONFIGS = [
    "",
    '[store]\nurl = "sqlite:///fz.db"\n',
    '[store]\nurl = "memory:"\n[web]\nsession_secrets = ["' + "s" * 40 + '"]\n',
    "[web]\nportal = 3\n",
    "not toml [",
    '[auth]\nmax_linger = -1\n[web]\nlog_format = "xml"\n',
]

# Command lines that work, so that mutations of them reach deep into the commands.
TEMPLATES = [
    ["init"],
    ["init", "--store", "sqlite:///fz.db"],
    ["init", "--config", "new.toml"],
    ["user", "add", "alice", "--pin-stdin"],
    ["user", "add", "bob", "--no-pin", "--type", "HOTP/E", "--qr-out", "b.svg"],
    ["user", "add", "carl", "--store", "users-file:users", "--pin-stdin", "--type", "MOTP"],
    ["user", "list", "--json"],
    ["user", "show", "alice", "--json"],
    ["user", "set-pin", "alice", "--pin-stdin"],
    ["user", "resync", "bob", "755224", "287082"],
    ["user", "lock", "alice"],
    ["user", "unlock", "alice"],
    ["user", "recovery-codes", "alice", "-n", "3"],
    ["user", "replace-token", "bob", "--type", "HOTP/T30/8", "--show-uri"],
    ["user", "remove", "bob"],
    ["user", "invite", "dave", "--url", "https://auth.example.com", "--expires", "1h"],
    ["user", "invite", "alice", "--reset", "--url", "https://auth.example.com"],
    ["check", "alice", "-v", "--json"],
    ["export", "--to", "users-file:exported"],
    ["import", "users", "--into", "sqlite:///fz2.db", "--replace"],
    ["key", "rotate", "--drop-old"],
    ["config", "check", "--config", "otpgate.toml"],
    ["serve", "--config", "otpgate.toml", "--access-log"],
    ["demo", "--no-serve", "--dir", "demo"],
    ["otp", "-w", "3", KEY_HEX],
    ["otp", "--totp", "-N", "@59", "-d", "8", KEY_HEX, "94287082"],
    ["otp", "--motp", "1234", "0123456789abcdef"],
    ["uri", "--user", "alice", "--totp", "--qr-out", "a.png", KEY_HEX],
]


@st.composite
def _mutated(draw: st.DrawFn) -> list[str]:
    argv = list(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        if argv and draw(st.booleans()):
            del argv[draw(st.integers(0, len(argv) - 1))]
        else:
            word = draw(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)))
            argv.insert(draw(st.integers(0, len(argv))), word)
    return argv


argv_strategy = st.one_of(
    _mutated(),
    _mutated(),
    _mutated(),
    st.tuples(
        st.sampled_from(COMMANDS),
        st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=8),
    ).map(lambda t: [*t[0], *t[1]]),
)
stdin_strategy = st.one_of(st.sampled_from(STDIN), st.binary(max_size=64))


def _no_huge_output(argv: list[str]) -> bool:
    """otp -w N prints N+1 codes: keep N small so an example stays quick."""
    for flag in ("-w", "--window", "-n"):
        if flag in argv[:-1]:
            value = argv[argv.index(flag) + 1]
            if value.isdigit() and int(value) > 50:
                return False
    return True


@pytest.fixture(scope="module")
def scratch() -> Any:
    with tempfile.TemporaryDirectory(prefix="otpgate-fuzz-") as d:
        yield Path(d)


@settings(
    max_examples=int(os.environ.get("OTPGATE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=argv_strategy, stdin=stdin_strategy, config=st.sampled_from(CONFIGS))
def test_no_traceback_from_any_command(
    argv: list[str],
    stdin: bytes,
    config: str,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assume(_no_huge_output(argv))
    for name in list(os.environ):
        if name.startswith(("OTPGATE_", "PAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTPGATE_HOME", str(scratch))
    monkeypatch.chdir(scratch)
    (scratch / "otpgate.toml").write_text(config)
    monkeypatch.setattr(_secrets, "PIN_HASHER", FAST_TEST_HASHER)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))

    def getpass(prompt: str = "") -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    monkeypatch.setattr(_secrets.getpass, "getpass", getpass)
    started: list[Any] = []
    monkeypatch.setattr(serve, "run_gate", lambda *a, **k: started.append(a) or 0)
    monkeypatch.setattr(demo, "run_gate", lambda *a, **k: started.append(a) or 0)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # --help, --version, and argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    event(f"exit {code}")
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    if code == 1 and argv and argv[0] != "check":  # check's refusal is silent (-v says why)
        assert err.strip(), (argv, "failed without a word")
