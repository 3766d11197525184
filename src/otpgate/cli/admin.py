"""Administration: ``init``, ``user ...``, ``import``, ``export`` and ``check``.

The store is chosen by ``--store URL`` on every command, else the
``OTPGATE_STORE`` environment variable, else ``sqlite:///otpgate.db`` in
``$OTPGATE_HOME`` (or the current directory).  ``--key-file`` names the file
that encrypts OTP keys in SQL stores (default: ``<database>.key``).

Secrets are shown once, where the administrator asked for them: the otpauth
URI and QR code of a new token, and new recovery codes.  PINs are read from a
prompt or stdin, never from the command line (process lists are public).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import math
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Final

from .. import recovery
from ..audit import iso_utc
from ..config import Config, load_config
from ..errors import StoreError, VerificationError
from ..keys import MOTP_KEY_BYTES, check_key_length, decode_key, new_key
from ..models import Pin, UserRecord, UserState
from ..otp import ALGORITHMS
from ..pins import HtpasswdChecker, PinChecker, PinHasher
from ..store import Store, open_store, parse_store_url, redact
from ..tokens import TokenType, build_uri, parse_token_type, uri_warnings
from ..verify import Policy, TokenState, resync
from . import CommandError

__all__ = ["default_store_url", "register"]

_QR_KINDS: Final = {".png": "png", ".svg": "svg"}
# User names end up in a whitespace-separated users file and in URIs.
_USER_RE: Final = re.compile(r"[A-Za-z0-9._@+-][A-Za-z0-9._@+\-]{0,127}", re.ASCII)
_MAX_PIN: Final = 128
_MAX_STDIN: Final = 4096
_SQL_KINDS: Final = ("sqlite", "postgresql")

# Tests swap this for a cheap parameter set; production hashes use argon2-cffi's defaults.
PIN_HASHER: PinHasher = PinHasher()


# --- store selection ------------------------------------------------------------------------


def default_store_url() -> str:
    """``$OTPGATE_STORE``, else ``sqlite:///$OTPGATE_HOME/otpgate.db`` (current directory)."""
    env = os.environ.get("OTPGATE_STORE")
    if env:
        return env
    home = os.environ.get("OTPGATE_HOME")
    path = os.path.join(home, "otpgate.db") if home else "otpgate.db"
    return f"sqlite:///{path}"


def _config(args: argparse.Namespace) -> Config | None:
    """The configuration file named by ``--config`` or ``$OTPGATE_CONFIG``, if any.

    Raises:
        ConfigError: the file is unreadable or invalid.
    """
    path = getattr(args, "config", None) or os.environ.get("OTPGATE_CONFIG")
    if not path:
        return None
    cached: Config | None = getattr(args, "_loaded_config", None)
    if cached is None:
        # OTPGATE_STORE is this command's own variable, not a config override.
        env = {k: v for k, v in os.environ.items() if k != "OTPGATE_STORE"}
        cached = load_config(path, env=env)
        args._loaded_config = cached
    return cached


def _url(args: argparse.Namespace) -> str:
    """``--store``, else ``$OTPGATE_STORE``, else the config file's store, else the default."""
    if args.store is not None:
        # An explicit but empty --store is a mistake, not a request for the default.
        parse_store_url(args.store)
        url: str = args.store
        return url
    if not os.environ.get("OTPGATE_STORE"):
        config = _config(args)
        if config is not None:
            return config.store.url
    return default_store_url()


def _key_file(args: argparse.Namespace) -> str | None:
    if args.key_file:
        key_file: str = args.key_file
        return key_file
    config = _config(args)
    if config is not None and _url(args) == config.store.url:
        return config.store.key_file
    return None


def _kind(url: str) -> str:
    return parse_store_url(url)[0]


@contextlib.contextmanager
def _opened(url: str, key_file: str | None) -> Iterator[Store]:
    store = open_store(url, key_file=key_file)
    try:
        yield store
    finally:
        store.close()


def _store(args: argparse.Namespace) -> contextlib.AbstractContextManager[Store]:
    return _opened(_url(args), _key_file(args))


def _get(store: Store, name: str) -> UserRecord:
    record = store.get(name)
    if record is None:
        raise CommandError(f"no user {name!r} in {store.url}")
    return record


def _update(store: Store, name: str, change: Callable[[UserState], UserState]) -> UserRecord:
    """Compare-and-set a state change, retrying if a login wrote meanwhile."""
    for _ in range(10):
        record = _get(store, name)
        new = store.compare_and_set(name, record.version, change(record.state))
        if new is not None:
            return new
    raise CommandError(f"user {name!r} keeps changing; try again")


# --- input helpers --------------------------------------------------------------------------


def _username(text: str) -> str:
    if not _USER_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"user names are 1-128 characters of A-Z a-z 0-9 . _ @ + - , not {text!r}"
        )
    return text


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 100, not {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, not {text!r}")
    return value


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline(_MAX_STDIN + 1)
    if len(line) > _MAX_STDIN:
        raise CommandError(f"the {what} on stdin is too long")
    if not line:
        raise CommandError(f"expected the {what} on stdin, got end of input")
    return line.rstrip("\r\n")


def _check_pin_text(pin: str) -> str:
    problems = []
    if not pin:
        problems.append("is empty (use --no-pin for none)")
    if len(pin) > _MAX_PIN:
        problems.append(f"is longer than {_MAX_PIN} characters")
    if any(c.isspace() or not c.isprintable() for c in pin):
        problems.append("contains spaces or control characters")
    if pin in ("-", "+"):
        problems.append("is '-' or '+', which mean 'none' and 'delegated' in a users file")
    if problems:
        raise CommandError("the PIN " + ", ".join(problems))
    return pin


def _read_pin(args: argparse.Namespace) -> str | None:
    """The PIN text, or ``None`` for --no-pin / --pin-delegated."""
    if args.no_pin or args.pin_delegated:
        return None
    if args.pin_stdin:
        return _check_pin_text(_stdin_line("PIN"))
    if args.pin_prompt or sys.stdin.isatty():
        first = getpass.getpass("PIN: ")
        _check_pin_text(first)
        if getpass.getpass("PIN again: ") != first:
            raise CommandError("the two PINs differ")
        return first
    raise CommandError("no PIN source: give --pin-prompt, --pin-stdin, --no-pin or --pin-delegated")


def _make_pin(args: argparse.Namespace, url: str, ttype: TokenType) -> Pin:
    if args.pin_delegated:
        if ttype.kind == "MOTP":
            raise CommandError("a Mobile-OTP PIN is part of the code; it cannot be delegated")
        return Pin("delegated")
    text = _read_pin(args)
    if text is None:
        return Pin("none")
    if _kind(url) in _SQL_KINDS:
        if ttype.kind == "MOTP":
            raise CommandError(
                "a Mobile-OTP PIN must stay readable (it is part of the code) and SQL stores "
                "keep only hashed PINs: use --no-pin, or keep this user in a users file"
            )
        return Pin("hash", PIN_HASHER.hash(text))
    return Pin("plain", text)


def _pin_group(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pin-prompt", action="store_true", help="ask for the PIN (twice)")
    g.add_argument("--pin-stdin", action="store_true", help="read the PIN as one line of stdin")
    g.add_argument("--no-pin", action="store_true", help="no PIN: the password is the OTP alone")
    g.add_argument(
        "--pin-delegated",
        action="store_true",
        help="the PIN is checked by another provider (htpasswd; '+' in a users file)",
    )


def _when(ts: float | None, never: str = "-") -> str:
    if ts is None:
        return never
    if math.isinf(ts):
        return "until unlocked"
    return iso_utc(ts)[:19].replace("T", " ") + "Z"


def _warn(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"otpgate: warning: {w.message}", file=sys.stderr)


def _write_qr(qr: Any, target: str) -> None:
    """Save the QR code via a 0600 temporary file and rename: it holds the secret."""
    path = Path(target)
    kind = _QR_KINDS.get(path.suffix.lower())
    if kind is None:
        raise CommandError(f"--qr-out must end in .png or .svg, not {path.name!r}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            qr.save(fh, kind=kind, scale=6 if kind == "png" else 4)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _create_users_file(path: str) -> bool:
    """Create an empty users file, mode 0600; ``False`` if it exists.

    Raises:
        OSError: it cannot be created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


# --- init -----------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from ..crypto import create_key_file
    from ..store import default_key_file

    url = _url(args)
    kind, target, _ = parse_store_url(url)
    if kind in _SQL_KINDS:
        key_file = _key_file(args) or default_key_file(url)
        if key_file is None:
            raise CommandError(
                "a PostgreSQL store needs a key file for its OTP keys: give --key-file PATH"
            )
        if os.path.exists(key_file):
            print(f"otpgate: key file {key_file} exists; keeping it", file=sys.stderr)
        else:
            create_key_file(key_file)
            print(f"otpgate: created key file {key_file} (mode 0600); back it up", file=sys.stderr)
        with _opened(url, key_file) as store:
            store.ping()
    elif kind == "users-file":
        if not _create_users_file(target):
            print(f"otpgate: users file {target} exists; keeping it", file=sys.stderr)
        with _opened(url, None) as store:
            store.ping()
    print(f"otpgate: store {redact(url)} is ready", file=sys.stderr)
    return 0


# --- user -----------------------------------------------------------------------------------


def _token_type(args: argparse.Namespace) -> TokenType:
    ttype = parse_token_type(args.type)
    if args.algorithm:
        alg = args.algorithm.upper()
        if alg not in ALGORITHMS:
            raise CommandError(f"--algorithm must be one of {', '.join(ALGORITHMS)}")
        if ttype.kind == "MOTP":
            raise CommandError("Mobile-OTP has no hash choice; drop --algorithm")
        ttype = TokenType(ttype.kind, ttype.step, ttype.digits, alg)
    return ttype


def _key(args: argparse.Namespace, ttype: TokenType) -> tuple[bytes, bool]:
    """The key and whether it was generated here."""
    motp = ttype.kind == "MOTP"
    if args.key is None:
        return new_key(MOTP_KEY_BYTES if motp else 20), True
    text = _stdin_line("key") if args.key == "-" else args.key
    key = decode_key(text, "base32" if args.base32 else "hex")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_key_length(key, motp=motp)
    _warn(caught)
    return key, False


def _cmd_user_add(args: argparse.Namespace) -> int:
    url = _url(args)
    ttype = _token_type(args)
    # Checked before the user exists: a secret nobody saw would be useless.
    if args.qr_out and Path(args.qr_out).suffix.lower() not in _QR_KINDS:
        raise CommandError(f"--qr-out must end in .png or .svg, not {Path(args.qr_out).name!r}")
    if args.qr_out and not Path(args.qr_out).resolve().parent.is_dir():
        raise CommandError(f"--qr-out: no directory {str(Path(args.qr_out).parent)!r}")
    # With --key - and --pin-stdin, stdin carries the key line first, then the PIN line.
    key, generated = _key(args, ttype)
    with _store(args) as store:
        if store.get(args.name) is not None:
            raise CommandError(f"user {args.name!r} already exists in {store.url}")
        pin = _make_pin(args, url, ttype)
        record = UserRecord(args.name, ttype, key, pin, UserState(), serial=args.serial)
        store.add(record)
    print(f"otpgate: added {args.name} ({ttype})", file=sys.stderr)
    if _kind(url) == "users-file" and ttype.algorithm != "SHA1":
        print(
            f"otpgate: warning: mod_authn_otp cannot read {ttype} lines; it will skip this user",
            file=sys.stderr,
        )
    if not generated and not (args.qr or args.qr_out or args.show_uri):
        return 0
    if ttype.kind == "MOTP":
        # No otpauth:// form exists; the app is set up with the hex secret.
        print(f"secret (hex, enter it in the Mobile-OTP app): {key.hex()}")
        return 0
    uri = build_uri(ttype, key, args.name, args.issuer)
    for note in uri_warnings(ttype):
        print(f"otpgate: warning: {note}", file=sys.stderr)
    print(uri)
    show_terminal = args.qr or (sys.stdout.isatty() and not args.qr_out)
    if show_terminal or args.qr_out:
        import segno  # only the QR output needs it

        qr = segno.make_qr(uri, error="m")
        if args.qr_out:
            _write_qr(qr, args.qr_out)
            print(f"otpgate: wrote {args.qr_out} (it holds the secret)", file=sys.stderr)
        if show_terminal:
            qr.terminal(out=sys.stdout, compact=True)
    print("otpgate: this is the only time the secret is shown", file=sys.stderr)
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        rows = [
            (
                r.username,
                str(r.token_type),
                r.serial or "-",
                r.pin.kind,
                _when(r.state.last_auth, "never"),
                str(r.state.failures),
                _when(r.state.locked_until)
                if r.state.locked_until is not None and r.state.locked_until > time.time()
                else "-",
            )
            for r in store.list_users()
        ]
    header = ("USER", "TYPE", "SERIAL", "PIN", "LAST LOGIN", "FAILURES", "LOCKED UNTIL")
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _cmd_user_show(args: argparse.Namespace) -> int:
    with _store(args) as store:
        r = _get(store, args.name)
    s = r.state
    now = time.time()
    counter = (
        f"next counter {s.token.counter}"
        if r.token_type.is_event
        else f"drift {s.token.counter:+d} steps"
    )
    lines = [
        ("user", r.username),
        ("type", str(r.token_type)),
        ("serial", r.serial or "-"),
        ("pin", r.pin.kind),
        ("token state", counter),
        ("last step", "-" if s.token.last_step is None else str(s.token.last_step)),
        ("failures", str(s.failures)),
        ("last login", _when(s.last_auth, "never")),
        ("last address", s.last_ip or "-"),
        (
            "locked until",
            _when(s.locked_until) if s.locked_until is not None and s.locked_until > now else "-",
        ),
        ("sessions revoked before", _when(s.revoked_before)),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k.ljust(width)}  {v}")
    return 0


def _cmd_user_remove(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if not store.remove(args.name):
            raise CommandError(f"no user {args.name!r} in {store.url}")
    print(f"otpgate: removed {args.name}", file=sys.stderr)
    return 0


def _cmd_user_set_pin(args: argparse.Namespace) -> int:
    url = _url(args)
    with _store(args) as store:
        record = _get(store, args.name)
        pin = _make_pin(args, url, record.token_type)
        # A new PIN ends every session and lingering login made with the old one.
        state = replace(record.state, revoked_before=time.time(), last_otp=None)
        store.replace(replace(record, pin=pin, state=state))
    print(f"otpgate: PIN of {args.name} changed ({pin.kind})", file=sys.stderr)
    return 0


def _cmd_user_resync(args: argparse.Namespace) -> int:
    with _store(args) as store:
        record = _get(store, args.name)
        pin = record.pin.value if record.token_type.kind == "MOTP" else ""
        try:
            match = resync(
                record.token(),
                record.state.token,
                args.otp1,
                args.otp2,
                now=time.time(),
                policy=Policy(),
                pin=pin,
            )
        except VerificationError as exc:
            raise CommandError(f"resync failed: {exc}") from None
        new_token: TokenState = match.state
        for _ in range(10):
            new = store.compare_and_set(
                args.name, record.version, replace(record.state, token=new_token, failures=0)
            )
            if new is not None:
                break
            record = _get(store, args.name)
        else:
            raise CommandError(f"user {args.name!r} keeps changing; try again")
    if record.token_type.is_event:
        print(f"otpgate: {args.name} resynchronised; next counter {new_token.counter}")
    else:
        print(f"otpgate: {args.name} resynchronised; drift {new_token.counter:+d} steps")
    return 0


def _cmd_user_lock(args: argparse.Namespace) -> int:
    now = time.time()
    with _store(args) as store:
        _update(store, args.name, lambda s: replace(s, locked_until=math.inf, revoked_before=now))
    print(f"otpgate: locked {args.name}; their sessions are revoked", file=sys.stderr)
    return 0


def _cmd_user_unlock(args: argparse.Namespace) -> int:
    with _store(args) as store:
        _update(store, args.name, lambda s: replace(s, locked_until=None, failures=0))
    print(f"otpgate: unlocked {args.name}", file=sys.stderr)
    return 0


def _cmd_user_recovery(args: argparse.Namespace) -> int:
    codes = recovery.generate(args.n)
    with _store(args) as store:
        _get(store, args.name)
        store.set_recovery_codes(args.name, [recovery.digest(args.name, c) for c in codes])
    print(
        f"otpgate: {len(codes)} recovery codes for {args.name}; earlier codes no longer work.\n"
        "otpgate: each works once, typed after the PIN in place of the one-time password.\n"
        "otpgate: they are shown only now; keep them somewhere safe.",
        file=sys.stderr,
    )
    for code in codes:
        print(code)
    return 0


# --- import / export ------------------------------------------------------------------------


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.stream = stream
        self.shown = -1

    def update(self, done: int) -> None:
        pct = 100 if self.total == 0 else done * 100 // self.total
        if pct == self.shown:
            return
        self.shown = pct
        filled = pct * 30 // 100
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} users")
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _convert(record: UserRecord, dst_kind: str) -> UserRecord:
    """The record as the destination can keep it.

    Raises:
        CommandError: this user cannot be kept there.
    """
    pin = record.pin
    if dst_kind in _SQL_KINDS and pin.kind == "plain":
        if record.token_type.kind == "MOTP":
            raise CommandError(
                f"{record.username}: a Mobile-OTP PIN must stay readable; SQL stores keep "
                "only hashed PINs (keep this user in a users file)"
            )
        pin = Pin("hash", PIN_HASHER.hash(pin.value))
    elif dst_kind == "users-file" and pin.kind == "hash":
        raise CommandError(
            f"{record.username}: a hashed PIN cannot be written to a users file (it holds "
            "plain PINs); set a new PIN there with 'otpgate user set-pin'"
        )
    return replace(record, pin=pin, version=None)


def _copy(
    src_url: str, src_key: str | None, dst_url: str, dst_key: str | None, replace_existing: bool
) -> int:
    if src_url == dst_url:
        raise CommandError("the source and the destination are the same store")
    dst_kind, dst_target, _ = parse_store_url(dst_url)
    problems = 0
    copied = 0
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(_opened(src_url, src_key))
        records = list(src.list_users())
        # Only now that the source is readable: no empty file is left behind otherwise.
        if dst_kind == "users-file" and _create_users_file(dst_target):
            print(f"otpgate: created users file {dst_target} (mode 0600)", file=sys.stderr)
        dst = stack.enter_context(_opened(dst_url, dst_key))
        bar = _Progress(len(records), sys.stderr)
        bar.update(0)
        for i, record in enumerate(records, 1):
            try:
                converted = _convert(record, dst_kind)
                if dst.get(record.username) is not None:
                    if not replace_existing:
                        raise CommandError(
                            f"{record.username}: already in {dst.url} (--replace overwrites)"
                        )
                    dst.replace(converted)
                else:
                    dst.add(converted)
                copied += 1
            except (CommandError, StoreError) as exc:
                problems += 1
                sys.stderr.write(f"\rotpgate: skipped {exc}\n")
            bar.update(i)
        bar.done()
    print(
        f"otpgate: copied {copied} of {len(records)} users from {redact(src_url)} "
        f"to {redact(dst_url)}"
        + (f"; {problems} skipped" if problems else "")
        + " (recovery codes are not copied)",
        file=sys.stderr,
    )
    return 1 if problems else 0


def _cmd_import(args: argparse.Namespace) -> int:
    return _copy(args.src, args.src_key_file, args.into, args.dst_key_file, args.replace)


def _cmd_export(args: argparse.Namespace) -> int:
    return _copy(_url(args), _key_file(args), args.to, args.dst_key_file, args.replace)


# --- check ----------------------------------------------------------------------------------


def _read_password() -> str:
    data = sys.stdin.buffer.read(_MAX_STDIN + 2)
    if len(data) > _MAX_STDIN + 1:
        raise CommandError("the password on stdin is too long")
    # pam_exec's expose_authtok writes the password with its terminating NUL.
    if data.endswith(b"\0"):
        data = data[:-1]
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    return data.decode("utf-8", "surrogateescape")


def _cmd_check(args: argparse.Namespace) -> int:
    from ..audit import AuditLog
    from ..auth import Authenticator, AuthSettings

    user = args.user or os.environ.get("PAM_USER")
    if not user:
        raise CommandError("name the user (or run from pam_exec, which sets PAM_USER)")
    ip = args.ip or os.environ.get("PAM_RHOST") or "local"
    config = _config(args)
    settings = config.auth_settings() if config is not None else AuthSettings()
    # Lingering stays off unless asked for here: each check is a new process,
    # and the next one would accept the just-used code again from the store.
    linger = 0.0 if args.linger is None else args.linger
    settings = replace(
        settings,
        max_linger=linger,
        max_idle=None,
        max_otp_failures=settings.max_otp_failures
        if args.max_failures is None
        else args.max_failures,
        failure_unlock_after=settings.failure_unlock_after
        if args.unlock_after is None
        else args.unlock_after,
    )
    htpasswd = args.htpasswd
    audit_target = args.audit
    if config is not None:
        if htpasswd is None and config.auth.pin_provider:
            htpasswd = config.auth.pin_provider.removeprefix("htpasswd:")
        if audit_target is None:
            audit_target = config.auth.audit_log
    checker: PinChecker | None = HtpasswdChecker(htpasswd) if htpasswd else None
    password = _read_password()
    store = open_store(_url(args), key_file=_key_file(args))
    try:
        audit = AuditLog(audit_target) if audit_target else None
    except BaseException:
        store.close()
        raise
    auth = Authenticator(store, settings, pin_checker=checker, audit=audit)
    try:
        decision = auth.authenticate(user, password, ip)
    finally:
        auth.close()
    if args.verbose:
        print(
            f"otpgate: {'accepted' if decision.ok else 'rejected'} ({decision.reason})",
            file=sys.stderr,
        )
    if decision.reason == "store_error":
        raise CommandError("the store could not be read or written; see the log")
    return 0 if decision.ok else 1


# --- registration ---------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--store",
        metavar="URL",
        help="the store (default: $OTPGATE_STORE, the config file's, or sqlite:///otpgate.db "
        "in $OTPGATE_HOME or here)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="otpgate.toml for the store and login settings (default: $OTPGATE_CONFIG)",
    )
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="key file encrypting OTP keys in SQL stores (default <database>.key)",
    )
    return p


def register(sub: Any) -> None:
    """Add ``init``, ``user``, ``import``, ``export`` and ``check``."""
    common = _common()

    p = sub.add_parser("init", parents=[common], help="create a store and its key file")
    p.set_defaults(handler=_cmd_init)

    user = sub.add_parser("user", help="manage users and tokens")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION")
    user.set_defaults(handler=lambda a: _usage(user))

    p = usub.add_parser("add", parents=[common], help="add a user with a new token")
    p.add_argument("name", type=_username)
    p.add_argument(
        "--type", default="HOTP/T30", help="token type, e.g. HOTP/T30/6 (default), HOTP/E, MOTP"
    )
    p.add_argument("--algorithm", help="SHA1 (default), SHA256 or SHA512")
    p.add_argument(
        "--key",
        help="the token's key in hex ('-' reads it from stdin); default: a new random 160-bit key",
    )
    p.add_argument("--base32", action="store_true", help="--key is base32, not hex")
    _pin_group(p)
    p.add_argument("--issuer", help="issuer shown by authenticator apps")
    p.add_argument("--serial", help="token serial number (for the audit log)")
    p.add_argument("--qr", action="store_true", help="print a QR code to the terminal")
    p.add_argument("--qr-out", metavar="FILE", help="write the QR code to FILE (.png or .svg)")
    p.add_argument(
        "--show-uri", action="store_true", help="print the URI also for a key given with --key"
    )
    p.set_defaults(handler=_cmd_user_add)

    p = usub.add_parser("list", parents=[common], help="list users")
    p.set_defaults(handler=_cmd_user_list)

    for name, handler, text in (
        ("show", _cmd_user_show, "show one user (no secrets)"),
        ("remove", _cmd_user_remove, "delete a user"),
        ("lock", _cmd_user_lock, "refuse all logins until unlocked; revoke sessions"),
        ("unlock", _cmd_user_unlock, "lift a lock and clear the failure count"),
    ):
        p = usub.add_parser(name, parents=[common], help=text)
        p.add_argument("name", type=_username)
        p.set_defaults(handler=handler)

    p = usub.add_parser("set-pin", parents=[common], help="change a user's PIN")
    p.add_argument("name", type=_username)
    _pin_group(p)
    p.set_defaults(handler=_cmd_user_set_pin)

    p = usub.add_parser(
        "resync", parents=[common], help="re-anchor a token from two consecutive codes"
    )
    p.add_argument("name", type=_username)
    p.add_argument("otp1")
    p.add_argument("otp2")
    p.set_defaults(handler=_cmd_user_resync)

    p = usub.add_parser(
        "recovery-codes",
        parents=[common],
        help="issue new single-use recovery codes (replacing old ones)",
    )
    p.add_argument("name", type=_username)
    p.add_argument("-n", type=_count, default=10, help="how many (default 10)")
    p.set_defaults(handler=_cmd_user_recovery)

    for name, handler, text in (
        ("import", _cmd_import, "copy all users from SRC_URL into another store"),
        ("export", _cmd_export, "copy all users of the store to DST_URL"),
    ):
        p = sub.add_parser(name, parents=[common] if name == "export" else [], help=text)
        if name == "import":
            p.add_argument("src", metavar="SRC_URL")
            p.add_argument("--into", required=True, metavar="DST_URL")
            p.add_argument("--src-key-file", metavar="FILE")
        else:
            p.add_argument("--to", required=True, metavar="DST_URL")
        p.add_argument("--dst-key-file", metavar="FILE")
        p.add_argument("--replace", action="store_true", help="overwrite users that exist")
        p.set_defaults(handler=handler)

    p = sub.add_parser(
        "check",
        parents=[common],
        help="run one login decision; password on stdin; exit 0 accept, 1 reject",
    )
    p.add_argument("user", nargs="?", type=_check_user)
    p.add_argument("--ip", help="client address (default $PAM_RHOST or 'local')")
    p.add_argument(
        "--linger",
        type=_seconds,
        default=None,
        help="accept a just-used password again for this long (default 0: each "
        "check process would otherwise let a used code through again)",
    )
    p.add_argument(
        "--max-failures",
        type=_count_or_zero,
        default=None,
        help="lock after N consecutive failures (default: the config file's, else 0 = off)",
    )
    p.add_argument(
        "--unlock-after",
        type=_seconds,
        default=None,
        help="seconds until such a lock lifts itself (default: the config file's, else 900)",
    )
    p.add_argument("--htpasswd", metavar="FILE", help="htpasswd file for delegated PINs")
    p.add_argument("--audit", metavar="FILE", help="append a JSON audit line ('-' = stdout)")
    p.add_argument("-v", "--verbose", action="store_true", help="print the decision on stderr")
    p.set_defaults(handler=_cmd_check)


def _check_user(text: str) -> str:
    # Any name a client might send is decided (and refused) by the Authenticator.
    if not text or len(text) > 256:
        raise argparse.ArgumentTypeError("the user name is empty or too long")
    return text


def _count_or_zero(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 1_000_000:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return int(text)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 1
