"""``otpgate serve``: run the gate.

``serve`` reads the TOML settings (``--config``, else ``$OTPGATE_CONFIG``, else
``/etc/otpgate/otpgate.toml`` if it exists) and runs the ASGI application under
uvicorn.  uvicorn's own ``X-Forwarded-For`` handling is turned off: the gate
decides itself which proxies it believes (``web.trusted_proxies``).

The defaults are a production gate's: no access log (the proxy in front logs
every request already, and uvicorn's access log halves the requests per
second of the hot path) and uvicorn's own messages from level warning up.
``--access-log`` and ``--log-level`` turn them back on.

:func:`build_app` and :func:`worker_app` are how anything else -- ``--workers``,
granian, the benchmarks -- gets exactly the app this command serves::

    OTPGATE_CONFIG=/etc/otpgate/otpgate.toml \\
        granian --interface asgi --factory otpgate.cli.serve:worker_app
"""

from __future__ import annotations

import argparse
import logging.config
import os
import shutil
import tempfile
from typing import Any, Final

from ..audit.decision_log import START_LOG, logging_config
from ..config.loader import Config
from ..login.assembly import open_authenticator
from . import CommandError
from ._common import CONFIG_HELP, config_path, load_settings

__all__ = [
    "build_app",
    "check_setup",
    "parse_listen",
    "register",
    "run_gate",
    "start_line",
    "worker_app",
]

LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug")
DEFAULT_LOG_LEVEL: Final = "warning"
STATE_ENV: Final = "OTPGATE_STATE_URL"
# uvicorn's httptools protocol, with a GET /auth answered from memory below ASGI.
FAST_PROTOCOL: Final = "otpgate.web.fast_auth:FastAuthProtocol"


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
    """ASGI factory: the app :func:`build_app` makes, from the environment.

    The settings come from ``$OTPGATE_CONFIG`` (set by :func:`run_gate` for
    ``serve --workers N``) and the ``OTPGATE_*`` variables, exactly as
    ``serve`` reads them.  Each process that calls it gets its own
    Authenticator.
    """
    return build_app(load_settings(os.environ.get("OTPGATE_CONFIG") or None))


def check_setup(config: Config) -> None:
    """Open everything the gate will use and close it again: store, key file, PIN
    provider, audit log, secrets and web settings.

    ``serve --workers N`` calls it before starting the workers, which would
    otherwise each die with the same error and be started again, forever.

    Raises:
        OTPGateError, OSError: the first problem found.
    """
    from ..web import create_app

    authenticator = open_authenticator(config)
    try:
        authenticator.store.ping()
        create_app(config, authenticator, authenticator.store)
    finally:
        authenticator.close()


def start_line(config: Config, workers: int = 1) -> tuple[str, dict[str, Any]]:
    """What ``serve`` says when it starts: where it listens, the store and the shared
    state (passwords masked), as text and as the JSON log's fields."""
    from ..store import redact

    store = redact(config.store.url)
    if config.state.url and config.state.url not in ("local", "local:"):
        state = redact(config.state.url)
    elif workers > 1:
        state = f"shared by the {workers} workers of this run"
    else:
        state = "in this process"
    address = f"http://{config.web.listen}"
    fields: dict[str, Any] = {"event": "start", "listen": address, "store": store, "state": state}
    if workers > 1:
        fields["workers"] = workers
    return f"otpgate serving {address} with store {store}, state {state}", fields


def run_gate(
    config: Config,
    *,
    workers: int = 1,
    log_level: str = DEFAULT_LOG_LEVEL,
    access_log: bool = False,
    fast_path: bool = True,
) -> int:
    """Open the store and serve until interrupted.

    With ``workers > 1``, that many processes share one listening socket
    (:func:`_prepare_workers`).  Sessions are signed cookies, so every worker
    accepts every other's.  ``fast_path``: forward auth's answers from memory
    are written by the server's protocol itself (:mod:`otpgate.web.fast_auth`),
    else by the ASGI endpoint; the answers are the same.
    """
    import uvicorn

    host, port = parse_listen(config.web.listen)
    made: dict[str, str] = {}  # environment variable -> the directory made for it
    if workers > 1:
        made = _prepare_workers(config, workers)
        app: Any = f"{__name__}:worker_app"
    else:
        app = build_app(config)
    log_config = logging_config(log_level, access_log, config.web.log_format)
    try:
        # Configured here already (uvicorn configures it again) for the line below.
        logging.config.dictConfig(log_config)
        line, fields = start_line(config, workers)
        START_LOG.info("%s", line, extra={"otpgate": fields})
        from ..web.fast_auth import supported as fast_supported

        if fast_path and not fast_supported():
            fast_path = False
            START_LOG.warning(
                "this uvicorn lacks what the forward-auth fast path uses: serving /auth "
                "through ASGI (the same answers, more CPU per request)"
            )
        uvicorn.run(
            app,
            factory=workers > 1,
            workers=workers if workers > 1 else None,
            host=host,
            port=port,
            http=FAST_PROTOCOL if fast_path else "httptools",
            proxy_headers=False,
            server_header=False,
            log_config=log_config,
            access_log=access_log,
            lifespan="on",
        )
    finally:
        for variable, directory in made.items():
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(variable, None)
    return 0


def _prepare_workers(config: Config, workers: int) -> dict[str, str]:
    """Set what the worker processes read from the environment: the settings file,
    how many PIN hashes each runs at once (the CPUs shared out), the metrics
    directory and, without ``[state] url``, a shared state file.

    The metrics are added up over the workers through files in
    ``$PROMETHEUS_MULTIPROC_DIR`` (a private temporary directory unless set).
    Without ``[state] url`` the throttle is shared through an SQLite file of
    this run's own (a private temporary directory) and the linger cache is per
    worker (a lingering credential costs one store read and PIN check per
    worker); with Redis both are shared, and revocations too (docs/scaling.md).

    Returns:
        The variables set for this run (removed afterwards), each with the
        directory made for it (removed too), or ``""``.
    """
    from ..login.pins import HASH_SLOTS_ENV, usable_cpus
    from ..web.metrics import MULTIPROC_ENV

    made: dict[str, str] = {}
    if not os.environ.get(HASH_SLOTS_ENV):
        # One PIN hash per CPU for the whole gate, not per worker (login/pins.py).
        os.environ[HASH_SLOTS_ENV] = str(max(usable_cpus() // workers, 1))
        made[HASH_SLOTS_ENV] = ""  # no directory: only the variable goes afterwards
    if config.path is not None:
        os.environ["OTPGATE_CONFIG"] = os.path.abspath(config.path)
    if not os.environ.get(MULTIPROC_ENV):
        made[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="otpgate-metrics-")
        os.environ[MULTIPROC_ENV] = made[MULTIPROC_ENV]
    if not config.state.url:
        # No shared state named: the workers still throttle as one, through a
        # file of this run's own (the workers read OTPGATE_STATE_URL).
        made[STATE_ENV] = tempfile.mkdtemp(prefix="otpgate-state-")
        os.environ[STATE_ENV] = f"sqlite:///{made[STATE_ENV]}/throttle.db"
    return made


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {}
    if args.listen:
        parse_listen(args.listen)
        overrides["web"] = {"listen": args.listen}
    if args.workers < 1 or args.workers > 64:
        raise CommandError(f"--workers {args.workers}: expected 1 to 64 (one per core is best)")
    config = load_settings(config_path(args.config), overrides=overrides)
    config.secrets()  # fail here, in one line, rather than inside the server
    if args.workers > 1:
        if config.store.url.startswith("memory:"):
            raise CommandError("--workers needs a shared store; memory: lives in one process")
        check_setup(config)
    return run_gate(
        config,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        fast_path=args.fast_path,
    )


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``otpgate`` command."""
    p = subparsers.add_parser(
        "serve",
        help="run the gate (forward auth, login page, JSON API)",
        description="Run the gate: forward auth for nginx/Traefik/Caddy, the login page, "
        "the JSON API, /healthz and /metrics.  By default nothing is logged per request "
        "(the proxy in front logs requests; an access log here halves the requests per "
        "second) and the server's own messages from level warning up.",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on (default: web.listen, 127.0.0.1:9090)",
    )
    p.add_argument(
        "--log-level",
        default=DEFAULT_LOG_LEVEL,
        choices=LOG_LEVELS,
        help=f"level of the server's and the gate's messages (default {DEFAULT_LOG_LEVEL}; "
        "info adds one line per login decision, see web.log_format)",
    )
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="log every request on stdout, uvicorn's format (default: off; the proxy in "
        "front logs requests, and this costs about half the requests per second)",
    )
    p.add_argument(
        "--fast-path",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="answer forward auth from memory (a session cookie, a lingering Basic "
        "credential) in the server's protocol, before any ASGI (default: on; the same "
        "answers, a quarter fewer instructions per request; off: uvicorn's own protocol)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1; one per core serves the most requests, see "
        "docs/benchmarks.md); they throttle as one and /metrics adds them up; with "
        "[state] url (Redis) they also share lingering credentials and revocations",
    )
    p.set_defaults(handler=_serve)
