"""``otpgate demo``: a demo store, user and page behind the gate, in a minute.

Not for production: the demo speaks plain HTTP, so its cookies are not marked
Secure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any, Final

from ..config.loader import Config, load_config
from .serve import parse_listen, run_gate

__all__ = ["register"]

DEMO_USER: Final = "demo"
DEMO_ISSUER: Final = "otpgate demo"


def _write_private(path: Path, text: str) -> None:
    """Create a file only its owner can read (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _demo_config(directory: Path, listen: str) -> Path:
    from ..config.loader import new_secret
    from ..store.crypto import create_key_file

    db = directory / "otpgate.db"
    key_file = directory / "otpgate.key"
    if not key_file.exists():
        create_key_file(key_file)
    secret_file = directory / "session.secret"
    if not secret_file.exists():
        _write_private(secret_file, new_secret() + "\n")
    config = directory / "otpgate.toml"
    # Rewritten on every start so that --listen takes effect; nothing secret in it.
    config.write_text(
        "# Written by `otpgate demo`.  Not a production configuration: plain HTTP.\n"
        "[store]\n"
        f'url = "sqlite:///{db}"\n'
        f'key_file = "{key_file}"\n\n'
        "[auth]\n"
        f'audit_log = "{directory / "audit.log"}"\n\n'
        "[web]\n"
        f'listen = "{listen}"\n'
        f'title = "{DEMO_ISSUER}"\n'
        f'session_secret_file = "{secret_file}"\n'
        "cookie_secure = false\n"
        "demo = true\n",
        encoding="utf-8",
    )
    return config


def _demo_user(config: Config, directory: Path) -> None:
    """Create the demo user once; show its PIN, URI and QR code only then."""
    from ..login.pins import PinHasher
    from ..otp.keys import encode_base32, new_key
    from ..otp.tokens import TokenType, build_uri
    from ..store import open_store
    from ..store.records import Pin, UserRecord

    store = open_store(config.store.url, key_file=config.store.key_file)
    try:
        if store.get(DEMO_USER) is not None:
            print(
                f"The user '{DEMO_USER}' exists; its PIN and QR code were shown when it was "
                f"created.  Start over: delete {directory} and run otpgate demo again.\n"
            )
            return
        token_type = TokenType("HOTP", 30, 6)
        key = new_key(20)
        pin = f"{secrets.randbelow(10**4):04d}"
        store.add(UserRecord(DEMO_USER, token_type, key, Pin("hash", PinHasher().hash(pin))))
    finally:
        store.close()
    uri = build_uri(token_type, key, DEMO_USER, issuer=DEMO_ISSUER)
    secret_file = directory / "demo-token.b32"
    _write_private(secret_file, encode_base32(key) + "\n")
    print(f"Created the user '{DEMO_USER}'.  This is shown once:\n")
    try:
        import segno

        segno.make_qr(uri, error="m").terminal(out=sys.stdout, compact=True)
    except ImportError:  # segno is a dependency; a broken install still gets the URI
        pass
    print(f"\n  URI:  {uri}\n  PIN:  {pin}\n")
    # Name the program as it was started (.venv/bin/otpgate is often not on PATH).
    prog = sys.argv[0] if os.path.basename(sys.argv[0]) == "otpgate" else "otpgate"
    print(
        "Scan the QR code with an authenticator app (FreeOTP, Google Authenticator, ...).\n"
        "No app at hand?  The current code is:\n"
        f"  {prog} otp --totp --base32 @{secret_file}\n"
    )


def _demo(args: argparse.Namespace) -> int:
    parse_listen(args.listen)
    directory = Path(args.dir or os.environ.get("OTPGATE_HOME") or "demo").resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config_path = _demo_config(directory, args.listen)
    # Only the demo's own file: OTPGATE_* variables meant for a real gate stay out.
    config = load_config(config_path, env={})
    _demo_user(config, directory)
    host, port = parse_listen(args.listen)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"Open http://{shown}:{port}/demo/ and sign in as '{DEMO_USER}' with the PIN and the\n"
        "6-digit code from the app (type them into their own fields).  Ctrl-C stops the gate.\n",
        flush=True,
    )
    if args.no_serve:
        return 0
    return run_gate(config, log_level="warning")


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``otpgate`` command."""
    d = subparsers.add_parser(
        "demo",
        help="try it: a demo store, user and page behind the gate on 127.0.0.1",
        description="Create (once) an SQLite store, a key file and a user 'demo' with a TOTP "
        "token in DIR, print the PIN and the QR code to scan, and run the gate with a demo "
        "page behind it on 127.0.0.1.  Not for production: cookies are not marked Secure "
        "because the demo speaks plain HTTP.",
    )
    d.add_argument(
        "--dir",
        metavar="DIR",
        help="where the demo keeps its files (default: $OTPGATE_HOME, else ./demo)",
    )
    d.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:9090", help="default 127.0.0.1:9090"
    )
    d.add_argument("--no-serve", action="store_true", help="set up and exit")
    d.set_defaults(handler=_demo)
