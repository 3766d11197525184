"""The CLI messages issue 13 found unclear or missing, one test each."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest

from clitools import Runner
from otpgate.cli import _secrets
from otpgate.cli.transfer import _Progress
from otpgate.otp.tokens import parse_uri
from procs import OTPGATE

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("isolated")


def test_pin_prompt_at_end_of_input_is_one_line(tmp_path: Path, db: str) -> None:
    # As an administrator would meet it: no terminal, stdin at its end.
    done = subprocess.run(
        [*OTPGATE, "user", "add", "x", "--store", db, "--pin-prompt"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,  # no controlling terminal for getpass to open
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "otpgate: no PIN typed (end of input at the prompt); give --pin-stdin to read it "
        "from a pipe"
    )
    assert done.stdout == ""  # no secret shown for a user that was not added


def _at_a_terminal(argv: list[str], cwd: Path, keys: bytes) -> tuple[int, str]:
    """Run the command on a pseudo-terminal of its own (getpass opens it as /dev/tty),
    type ``keys`` once it asks for the PIN; its exit code and everything it wrote."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        try:
            os.chdir(cwd)
            os.execv(argv[0], argv)  # noqa: S606 -- the test's own interpreter, no shell
        finally:
            os._exit(127)  # never back into pytest
    out = b""
    typed = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
        if not typed and out.endswith(b"PIN: "):
            os.write(fd, keys)
            typed = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_ctrl_d_at_a_terminal_prompt_says_so(tmp_path: Path, db: str) -> None:
    code, said = _at_a_terminal(
        [*OTPGATE, "user", "add", "x", "--store", db, "--pin-prompt"], tmp_path, b"\x04"
    )
    assert code == 1 and "Traceback" not in said
    # Someone at the keyboard ended the prompt: no advice about pipes.
    last = said.splitlines()[-1]
    assert last == "otpgate: no PIN typed (Ctrl-D at the prompt); nothing was changed"
    assert "--pin-stdin" not in said


def test_ctrl_d_at_the_second_prompt(run: Runner, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["8306"])

    def getpass(prompt: str = "") -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(_secrets.getpass, "getpass", getpass)
    r = run("user", "add", "x", "--store", db, "--pin-prompt")
    # (Which end of input it was depends on whether the test has a terminal.)
    assert r.code == 1 and r.one_line_error().startswith("otpgate: no PIN typed (")
    assert "x " not in run("user", "list", "--store", db).out


def test_unknown_token_type_lists_the_valid_ones(run: Runner, db: str) -> None:
    r = run("user", "add", "x", "--store", db, "--no-pin", "--type", "TOTP")
    assert r.code == 1
    line = r.one_line_error()
    assert line.startswith("otpgate: not a token type: 'TOTP'; expected HOTP/T30 (time-based")
    for form in ("HOTP/E", "MOTP", "HOTP-SHA256/T30/8"):
        assert form in line


def test_otp_with_an_unknown_hash(run: Runner) -> None:
    r = run("otp", "--totp=MD5", "3132333435363738393031323334353637383930")
    assert r.code == 1
    assert r.one_line_error() == (
        "otpgate otp: error: --totp=MD5: not a hash otpgate knows; use --totp (SHA1), "
        "--totp=SHA256 or --totp=SHA512"
    )
    assert "ignored explicit argument" not in r.err
    # The known spellings still work, in either case.
    assert run("otp", "--totp=sha256", "-N", "@59", "31" * 32).code == 0


def test_a_flag_given_a_value_says_it_takes_none(run: Runner) -> None:
    r = run("user", "add", "x", "--no-pin=yes")
    assert r.code == 1 and r.one_line_error().endswith("--no-pin takes no value, not 'yes'")


def test_relative_sqlite_path_is_called_relative(run: Runner, tmp_path: Path) -> None:
    r = run("init", "--store", "sqlite:///var/lib/otpgate/x.db")
    assert r.code == 1
    line = r.one_line_error()
    assert line.startswith("otpgate: cannot create key file var/lib/otpgate/x.db.key")
    assert f"var/lib/otpgate/x.db is a relative path, under {tmp_path}" in line
    assert line.endswith("an absolute path is written sqlite:////var/lib/otpgate/x.db)")
    assert list(tmp_path.iterdir()) == []


def test_user_list_on_a_missing_store(run: Runner, tmp_path: Path) -> None:
    r = run("user", "list", "--store", "sqlite:///nothing/here.db")
    assert r.code == 1
    assert r.one_line_error() == (
        f"otpgate: no store at nothing/here.db (nothing/here.db is a relative path, under "
        f"{tmp_path}; an absolute path is written sqlite:////nothing/here.db): create it with "
        "'otpgate init', or name another with --store or --config"
    )
    r = run("user", "show", "bob", "--store", f"users-file:{tmp_path}/users")
    assert r.code == 1 and r.one_line_error().startswith(f"otpgate: no store at {tmp_path}/users:")
    assert list(tmp_path.iterdir()) == []  # and nothing was created by asking


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    piped = io.StringIO()
    bar = _Progress(3, piped)
    for i in range(4):
        bar.update(i)
    bar.done()
    assert piped.getvalue() == ""
    tty = _Terminal()
    bar = _Progress(3, tty)
    for i in range(4):
        bar.update(i)
    bar.done()
    assert tty.getvalue().endswith("] 3/3 users\n") and tty.getvalue().count("\r") == 4


def test_readme_uri_example_makes_a_time_based_token(run: Runner) -> None:
    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"`otpgate (uri [^`]*)`", readme)
    assert examples, "README has no otpgate uri example"
    for example in examples:
        argv = example.replace("NAME", "alice").replace("KEY", "31" * 20).split()
        argv.remove("--qr")  # the URI itself, not the picture
        r = run(*argv)
        assert r.code == 0, r.err
        parsed = parse_uri(r.out.strip())
        assert parsed.token_type.step == 30 and not parsed.token_type.is_event
