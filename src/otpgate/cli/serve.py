"""``otpgate serve`` (the gate) and ``otpgate demo`` (try it in a minute).

``serve`` reads the TOML settings (``--config``, else ``$OTPGATE_CONFIG``, else
``/etc/otpgate/otpgate.toml`` if it exists) and runs the ASGI application under
uvicorn.  uvicorn's own ``X-Forwarded-For`` handling is turned off: the gate
decides itself which proxies it believes (``web.trusted_proxies``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

from ..config import DEFAULT_CONFIG_PATH, Config, load_config, open_authenticator
from . import CommandError

__all__ = ["parse_listen", "register"]

DEMO_USER: Final = "demo"
STATE_ENV: Final = "OTPGATE_STATE_URL"
DEMO_ISSUER: Final = "otpgate demo"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port).

    Raises:
        CommandError: not of that form.
    """
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9090")
    return host, int(port)


def _config_path(arg: str | None) -> str | None:
    if arg:
        return arg
    env = os.environ.get("OTPGATE_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG_PATH if os.path.exists(DEFAULT_CONFIG_PATH) else None


def build_app(config: Config) -> Any:
    """The gate's ASGI app with its own Authenticator (closed when the app stops)."""
    from ..web import create_app
    from ..web.metrics import Metrics

    metrics = Metrics()
    authenticator = open_authenticator(config, observe_store=metrics.store_call)
    authenticator.state.observe = metrics.state_call
    authenticator.state.on_change = metrics.state_changed
    try:
        return create_app(config, authenticator, metrics=metrics, on_shutdown=authenticator.close)
    except BaseException:
        authenticator.close()
        raise


def worker_app() -> Any:
    """ASGI factory for ``serve --workers N``: each worker builds its own Authenticator.

    The settings come from ``$OTPGATE_CONFIG`` (set by :func:`run_gate`) and the
    ``OTPGATE_*`` variables, exactly as the parent read them.
    """
    return build_app(load_config(os.environ.get("OTPGATE_CONFIG") or None))


def run_gate(
    config: Config, *, workers: int = 1, log_level: str = "info", access_log: bool = True
) -> int:
    """Open the store and serve until interrupted.

    With ``workers > 1``, that many processes share one listening socket.
    Sessions are signed cookies, so every worker accepts every other's.  The
    metrics are added up over the workers through files in
    ``$PROMETHEUS_MULTIPROC_DIR`` (a private temporary directory unless set).
    Without ``[state] url`` the throttle is shared through an SQLite file
    of this run's own (a private temporary directory) and the linger cache
    is per worker (a lingering credential costs one store read and PIN check
    per worker); with Redis both are shared, and revocations too
    (docs/scaling.md).
    """
    import uvicorn

    from ..web.metrics import MULTIPROC_ENV

    host, port = parse_listen(config.web.listen)
    made: list[str] = []
    if workers > 1:
        if config.path is not None:
            os.environ["OTPGATE_CONFIG"] = os.path.abspath(config.path)
        if not os.environ.get(MULTIPROC_ENV):
            made.append(tempfile.mkdtemp(prefix="otpgate-metrics-"))
            os.environ[MULTIPROC_ENV] = made[-1]
        if not config.state.url:
            # No shared state named: the workers still throttle as one, through a
            # file of this run's own (the workers read OTPGATE_STATE_URL).
            made.append(tempfile.mkdtemp(prefix="otpgate-state-"))
            os.environ[STATE_ENV] = f"sqlite:///{made[-1]}/throttle.db"
        app: Any = f"{__name__}:worker_app"
    else:
        app = build_app(config)
    try:
        uvicorn.run(
            app,
            factory=workers > 1,
            workers=workers if workers > 1 else None,
            host=host,
            port=port,
            proxy_headers=False,
            server_header=False,
            log_level=log_level,
            access_log=access_log,
            lifespan="on",
        )
    finally:
        for directory in made:
            shutil.rmtree(directory, ignore_errors=True)
        if made:
            os.environ.pop(MULTIPROC_ENV, None)
            os.environ.pop(STATE_ENV, None)
    return 0


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {}
    if args.listen:
        parse_listen(args.listen)
        overrides["web"] = {"listen": args.listen}
    if args.workers < 1 or args.workers > 64:
        raise CommandError(f"--workers {args.workers}: expected 1 to 64 (one per core is best)")
    config = load_config(_config_path(args.config), overrides=overrides)
    config.secrets()  # fail here, in one line, rather than inside the server
    if args.workers > 1 and config.store.url.startswith("memory:"):
        raise CommandError("--workers needs a shared store; memory: lives in one process")
    return run_gate(
        config, workers=args.workers, log_level=args.log_level, access_log=not args.no_access_log
    )


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``demo`` to the ``otpgate`` command."""
    p = subparsers.add_parser(
        "serve",
        help="run the gate (forward auth, login page, JSON API)",
        description="Run the gate: forward auth for nginx/Traefik/Caddy, the login page, "
        "the JSON API, /healthz and /metrics.",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML settings (default: $OTPGATE_CONFIG, then {DEFAULT_CONFIG_PATH} if it exists)",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on (default: web.listen, 127.0.0.1:9090)",
    )
    p.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1; one per core serves the most requests, see "
        "docs/benchmarks.md)",
    )
    p.set_defaults(handler=_serve)

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


def _write_private(path: Path, text: str) -> None:
    """Create a file only its owner can read (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _demo_config(directory: Path, listen: str) -> Path:
    from ..config import new_secret
    from ..crypto import create_key_file

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
    from ..keys import encode_base32, new_key
    from ..models import Pin, UserRecord
    from ..pins import PinHasher
    from ..store import open_store
    from ..tokens import TokenType, build_uri

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
