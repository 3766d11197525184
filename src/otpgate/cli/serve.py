"""``otpgate serve`` (the gate) and ``otpgate demo`` (try it in a minute).

``serve`` reads the TOML settings (``--config``, else ``$OTPGATE_CONFIG``, else
``/etc/otpgate/otpgate.toml`` if it exists) and runs the ASGI application under
uvicorn.  uvicorn's own ``X-Forwarded-For`` handling is turned off: the gate
decides itself which proxies it believes (``web.trusted_proxies``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..config import DEFAULT_CONFIG_PATH, Config, load_config, open_authenticator
from . import CommandError

__all__ = ["parse_listen", "register"]


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


def run_gate(config: Config, *, log_level: str = "info", access_log: bool = True) -> int:
    """Open the store and serve until interrupted."""
    import uvicorn

    from ..web import create_app

    host, port = parse_listen(config.web.listen)
    authenticator = open_authenticator(config)
    try:
        app = create_app(
            config, authenticator, authenticator.store, on_shutdown=authenticator.close
        )
    except BaseException:
        authenticator.close()
        raise
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {}
    if args.listen:
        parse_listen(args.listen)
        overrides["web"] = {"listen": args.listen}
    config = load_config(_config_path(args.config), overrides=overrides)
    config.secrets()  # fail here, in one line, rather than inside the server
    return run_gate(config, log_level=args.log_level, access_log=not args.no_access_log)


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
    p.set_defaults(handler=_serve)
