"""``otpgate otp`` and ``otpgate uri``: output, exit codes, error messages, secrets."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import missing
from otpgate.cli import main
from otpgate.otp.tokens import TokenType, parse_uri

KEY = "3132333435363738393031323334353637383930"  # RFC 4226 "12345678901234567890"
KEY_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
KEY32 = "3132333435363738393031323334353637383930313233343536373839303132"
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583"]

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse usage errors and --help
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


# --- generating -----------------------------------------------------------------------------


def test_hotp_window_prints_window_plus_one_codes(capsys: Capture) -> None:
    rc, out, err = run(capsys, "otp", "-c", "2", "-w", "3", KEY)
    assert (rc, err) == (0, "")
    assert out.splitlines() == RFC4226[2:6]


def test_hotp_defaults_to_counter_zero(capsys: Capture) -> None:
    assert run(capsys, "otp", KEY) == (0, "755224\n", "")


def test_base32_key(capsys: Capture) -> None:
    assert run(capsys, "otp", "--base32", "-c", "1", KEY_B32.lower())[1] == "287082\n"


@pytest.mark.parametrize(
    "when",
    ["@1234567890", "2009-02-13T23:31:30Z", "2009-02-14T00:31:30+01:00", "2009-02-13 23:31:30 UTC"],
)
def test_totp_times(capsys: Capture, when: str) -> None:
    rc, out, _ = run(capsys, "otp", "--totp=SHA256", "-d", "8", "-N", when, KEY32)
    assert (rc, out) == (0, "91819424\n")


@pytest.mark.parametrize(("flag", "code"), [("--totp", "89005924"), ("--totp=sha512", "93441116")])
def test_totp_flag_spellings(capsys: Capture, flag: str, code: str) -> None:
    key = KEY if flag == "--totp" else (KEY * 4)[:128]
    assert run(capsys, "otp", flag, "-d", "8", "--now", "@1234567890", key)[1] == code + "\n"


def test_totp_flag_does_not_swallow_the_key(capsys: Capture) -> None:
    # An optional-argument --totp would read KEY as the hash name.
    rc, out, _ = run(capsys, "otp", "--totp", KEY, "-N", "@59", "-d", "8")
    assert (rc, out) == (0, "94287082\n")


def test_step_start_time_and_units(capsys: Capture) -> None:
    a = run(capsys, "otp", "--totp", "-s", "60", "-N", "@1000", KEY)[1]
    b = run(capsys, "otp", "--totp", "-s", "1m", "-N", "@1000", KEY)[1]
    assert a == b
    # T0 = 100, step 7: step 128 at t = 1000, which is HOTP counter 128.
    c = run(capsys, "otp", "--totp", "-s", "7s", "-S", "@100", "-N", "@1000", KEY)[1]
    assert c == run(capsys, "otp", "-c", "128", KEY)[1]


def test_ten_digits_and_hex_form(capsys: Capture) -> None:
    assert run(capsys, "otp", "-d", "10", KEY)[1] == "1284755224\n"
    assert run(capsys, "otp", "--hex", "-w", "1", KEY)[1] == "93cf18\n397eea\n"


def test_motp_generate_and_check(capsys: Capture) -> None:
    # Aegis' published vector: secret e3152afee62599c8, PIN 1234, t = 165892298 -> e7d8b6.
    rc, out, _ = run(capsys, "otp", "--motp", "1234", "-N", "@165892298", "e3152afee62599c8")
    assert (rc, out) == (0, "e7d8b6\n")
    rc, out, _ = run(
        capsys, "otp", "--motp", "1234", "-N", "@165892318", "-w", "2", "e3152afee62599c8", "E7D8B6"
    )
    assert (rc, out) == (0, "16589229\n")
    # Counter-based Mobile-OTP (MOTP/E) with -c.
    rc, out, _ = run(capsys, "otp", "--motp", "1234", "-c", "16589229", "e3152afee62599c8")
    assert out == "e7d8b6\n"


def test_motp_pin_from_stdin(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))
    rc, out, _ = run(capsys, "otp", "--motp", "-", "-N", "@165892298", "e3152afee62599c8")
    assert (rc, out) == (0, "e7d8b6\n")


# --- checking -------------------------------------------------------------------------------


def test_hotp_check_prints_the_counter(capsys: Capture) -> None:
    assert run(capsys, "otp", "-c", "3", "-w", "4", KEY, "287922") == (0, "6\n", "")


def test_hotp_check_outside_window_exits_2_without_echo(capsys: Capture) -> None:
    rc, out, err = run(capsys, "otp", "-c", "3", "-w", "2", KEY, "287922")
    assert (rc, out) == (2, "")
    assert "does not match" in err and "287922" not in err and KEY not in err


def test_hotp_check_behind_counter_exits_2(capsys: Capture) -> None:
    assert run(capsys, "otp", "-c", "3", "-w", "2", KEY, "755224")[0] == 2


def test_totp_check_searches_both_sides_and_options_after_key(capsys: Capture) -> None:
    # Step 1 is the 59 s code; at t = 119 (step 3) it is two steps back.
    assert run(capsys, "otp", "--totp", KEY, "-N", "@119", "-d", "8", "-w", "2", "94287082") == (
        0,
        "1\n",
        "",
    )
    assert run(capsys, "otp", "--totp", "-N", "@119", "-d", "8", "-w", "1", KEY, "94287082")[0] == 2


def test_hex_code_accepted_only_with_hex(capsys: Capture) -> None:
    assert run(capsys, "otp", "--hex", "-w", "3", KEY, "4C93CF18"[-6:])[0:2] == (0, "0\n")
    rc, _, err = run(capsys, "otp", "-w", "3", KEY, "93cf18")
    assert rc == 1 and "bad code" in err


@pytest.mark.parametrize(
    "code",
    [
        "75522",
        "7552244",
        " 755224",
        "755224 ",
        "755 224",
        "+755224",
        "-755224",
        "\u0667\u0665\u0665\u0662\u0662\u0664",
        "\uff17\uff15\uff15\uff12\uff12\uff14",
        "75522x",
    ],
)
def test_malformed_code_exits_1(capsys: Capture, code: str) -> None:
    rc, out, err = run(capsys, "otp", KEY, code)
    assert (rc, out) == (1, "")
    assert "bad code" in err and err.count("\n") == 1


# --- keys from stdin and files --------------------------------------------------------------


def test_key_from_stdin(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY_B32 + "\n"))
    assert run(capsys, "otp", "-b", "-c", "1", "-") == (0, "287082\n", "")


def test_key_from_file(capsys: Capture, tmp_path: Path) -> None:
    path = tmp_path / "key.hex"
    path.write_text(KEY + "\n")
    assert run(capsys, "otp", "-c", "2", f"@{path}")[1] == "359152\n"
    rc, _, err = run(capsys, "otp", f"@{tmp_path / 'nope'}")
    assert rc == 1 and "cannot read the key" in err and "nope" in err


def test_key_and_pin_cannot_both_be_stdin(capsys: Capture) -> None:
    rc, _, err = run(capsys, "otp", "--motp", "-", "-")
    assert rc == 1 and "stdin" in err


# --- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--totp=SHA384", KEY], "SHA384"),
        (["-d", "5", KEY], "digits"),
        (["-d", "11", KEY], "digits"),
        (["-c", "-1", KEY], "counter"),
        (["-c", "+5", KEY], "counter"),
        (["-c", "\u0665", KEY], "counter"),
        (["-c", "18446744073709551616", KEY], "counter"),
        (["-w", "x", KEY], "window"),
        (["--totp", "-N", "2009-02-13T23:31:30", KEY], "time zone"),
        (["--totp", "-N", "yesterday", KEY], "ISO 8601"),
        (["--totp", "-N", "1960-01-01T00:00:00Z", KEY], "before 1970"),
        (["--totp", "-N", "@10", "-S", "@100", KEY], "before T0"),
        (["--totp", "-s", "0", KEY], "time step"),
        (["-N", "@5", KEY], "need --totp"),
        (["-s", "30", KEY], "need --totp"),
        (["--totp", "-c", "5", KEY], "-c is for"),
        (["--motp", "1234", "--totp", "0123456789abcdef"], "exclude"),
        (["--motp", "1234", "--hex", "0123456789abcdef"], "hex"),
        (["--motp", "1234", "-c", "1", "-N", "@5", "0123456789abcdef"], "counter-based"),
        (["313233343536373839"], "72 bits"),
        (["31323"], "even number"),
        (["xyz"], "not hexadecimal"),
        ([KEY_B32], "--base32"),
        (["-b", "GEZ1"], "base32"),
        (["-c", "18446744073709551615", "-w", "1", KEY], "2**64"),
        ([], "KEY"),
        ([KEY, "755224", "extra"], "unrecognized"),
    ],
)
def test_bad_arguments_exit_1_with_one_clear_line(
    capsys: Capture, argv: list[str], fragment: str
) -> None:
    rc, out, err = run(capsys, "otp", *argv)
    assert rc == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert fragment in last
    assert "Traceback" not in err
    if len(argv) > 0 and argv[-1] not in (KEY_B32,):
        assert KEY not in err


@pytest.mark.parametrize("option", ["-c", "-d", "-w", "-s", "-N"])
def test_a_key_given_to_the_wrong_option_is_not_echoed(capsys: Capture, option: str) -> None:
    argv = ["--totp", option, KEY, KEY] if option in ("-s", "-N") else [option, KEY, KEY]
    rc, _, err = run(capsys, "otp", *argv)
    assert rc == 1 and KEY not in err and "40-character value" in err


def test_short_key_warns_on_stderr_without_the_key(capsys: Capture) -> None:
    key = "31323334353637383930"  # 80 bits: allowed, not recommended
    rc, out, err = run(capsys, "otp", key)
    assert rc == 0 and len(out.strip()) == 6
    assert "warning" in err and "80 bits" in err and key not in err


def test_motp_64_bit_key_is_not_short(capsys: Capture) -> None:
    rc, _, err = run(capsys, "otp", "--motp", "1234", "-N", "@0", "0123456789abcdef")
    assert (rc, err) == (0, "")


def test_help_explains_exit_codes(capsys: Capture) -> None:
    rc, out, _ = run(capsys, "otp", "--help")
    assert rc == 0
    assert "--totp[=SHA1|SHA256|SHA512]" in out and "2 CODE did not match" in out
    rc, out, _ = run(capsys, "uri", "--help")
    assert rc == 0 and "--qr-out" in out


# --- uri ------------------------------------------------------------------------------------


def test_uri_prints_a_parsable_uri(capsys: Capture) -> None:
    rc, out, err = run(capsys, "uri", "--user", "alice", "--issuer", "Help desk", "--totp", KEY)
    assert (rc, err) == (0, "")
    parsed = parse_uri(out.strip())
    assert parsed.token_type == TokenType("HOTP", 30, 6)
    assert (parsed.key, parsed.account, parsed.issuer) == (bytes.fromhex(KEY), "alice", "Help desk")


def test_uri_hotp_counter_and_base32(capsys: Capture) -> None:
    rc, out, _ = run(capsys, "uri", "--user", "bob", "--counter", "7", "-b", KEY_B32)
    parsed = parse_uri(out.strip())
    assert rc == 0 and parsed.token_type.is_event and parsed.counter == 7


def test_uri_warns_about_settings_apps_ignore(capsys: Capture) -> None:
    rc, out, err = run(capsys, "uri", "--user", "a", "--totp=SHA512", "-s", "60", "-d", "8", KEY)
    assert rc == 0 and out.startswith("otpauth://totp/")
    assert err.count("warning") == 3 and "SHA512" in err and "60 s" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--user", "a:b", KEY], "':'"),
        (["--user", "a", "--issuer", "x:y", KEY], "':'"),
        (["--user", "a", "--totp", "--counter", "3", KEY], "--counter"),
        (["--user", "a", "-s", "60", KEY], "--totp"),
        (["--user", "a", "--qr-out", "x.gif", KEY], ".png or .svg"),
        (["--user", "a", "3132"], "bits"),
        ([KEY], "--user"),
    ],
)
def test_uri_bad_arguments(capsys: Capture, argv: list[str], fragment: str) -> None:
    rc, out, err = run(capsys, "uri", *argv)
    assert rc == 1 and out == ""
    assert fragment in err.strip().splitlines()[-1]


def test_uri_terminal_qr_does_not_print_the_secret(capsys: Capture) -> None:
    rc, out, _ = run(capsys, "uri", "--user", "alice", "--totp", "--qr", KEY)
    assert rc == 0
    assert "\u2588" in out or "\u2580" in out  # block characters
    assert KEY_B32 not in out and "otpauth" not in out


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".SVG", b"<?xml")])
def test_uri_qr_file_is_atomic_and_private(
    capsys: Capture, tmp_path: Path, suffix: str, magic: bytes
) -> None:
    target = tmp_path / f"alice{suffix}"
    rc, out, err = run(capsys, "uri", "--user", "alice", "--totp", "--qr-out", str(target), KEY)
    assert rc == 0 and out == "" and "wrote" in err
    assert target.read_bytes().startswith(magic)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # No temporary file left beside it.
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    # Rewriting replaces the file in one step.
    assert run(capsys, "uri", "--user", "bob", "--totp", "--qr-out", str(target), KEY)[0] == 0
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_uri_qr_into_missing_directory_fails_cleanly(capsys: Capture, tmp_path: Path) -> None:
    rc, _, err = run(capsys, "uri", "--user", "a", "--qr-out", str(tmp_path / "no" / "x.png"), KEY)
    assert rc == 1 and "Traceback" not in err
    assert not (tmp_path / "no").exists()


# --- the real console script ----------------------------------------------------------------


def _console_script() -> str:
    beside = Path(sys.executable).parent / "otpgate"
    path = str(beside) if beside.exists() else shutil.which("otpgate")
    if path is None:
        missing("the otpgate console script is not installed (pip install -e .)")
    assert path is not None
    return path


def test_console_script_smoke() -> None:
    exe = _console_script()
    env = {**os.environ, "PYTHONWARNINGS": "error"}

    def spawn(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *argv], input=stdin, capture_output=True, text=True, timeout=60, env=env
        )

    done = spawn("otp", "-c", "0", "-w", "7", KEY)
    assert (done.returncode, done.stdout.split(), done.stderr) == (0, RFC4226, "")
    done = spawn("otp", "--totp", "-b", "-N", "@59", "-d", "8", "-", "94287082", stdin=KEY_B32)
    assert (done.returncode, done.stdout) == (0, "1\n")
    done = spawn("otp", "-w", "2", KEY, "162583")
    assert done.returncode == 2 and done.stdout == ""
    done = spawn("otp", "-d", "4", KEY)
    assert done.returncode == 1 and "digits" in done.stderr
    done = spawn("uri", "--user", "alice", "--totp", KEY)
    assert done.returncode == 0 and parse_uri(done.stdout).account == "alice"


def test_no_command_prints_help_and_exits_1(capsys: Capture) -> None:
    rc, out, err = run(capsys)
    assert rc == 1 and out == "" and "otp" in err
