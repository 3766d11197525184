"""``otpgate config check``: everything ``serve`` would refuse, listed at once.

Run it before a restart: it reads the settings as ``serve`` does, opens the
store, key file, PIN provider and audit log, builds the app, and checks that
files holding secrets are not readable by others.  Exit 0 when the gate
would start, 1 with every problem on its own line otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any

from ..config import DEFAULT_CONFIG_PATH, Config, secret_mode_problem
from ..errors import OTPGateError
from . import CommandError
from ._common import check_exists, command_group, config_path, load_settings

__all__ = ["problems", "register"]


def _mode_problems(path: str, what: str) -> Iterator[str]:
    """A file with a secret must be the owner's (and perhaps the group's to read)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        yield f"{what}: cannot read {path}: {exc.strerror}"
        return
    problem = secret_mode_problem(mode)
    if problem:
        # Worded as the gate words it on start (so the two are said once).
        yield f"{what}: {path} {problem}"


def _file_problems(config: Config) -> Iterator[str]:
    web = config.web
    if web.session_secret_file:
        yield from _mode_problems(web.session_secret_file, "web.session_secret_file")
    if web.api_keys_file:
        yield from _mode_problems(web.api_keys_file, "web.api_keys_file")
    # The key file's mode is the store's own check (it refuses one others can read).
    if config.path and (web.session_secrets or web.api_keys):
        yield from _mode_problems(config.path, "the configuration (it holds secrets inline)")


def _open_problems(config: Config) -> Iterator[str]:
    """Open what the gate opens; each failure is one problem."""
    from ..config import open_authenticator
    from ..web import create_app

    try:
        check_exists(config.store.url)
        authenticator = open_authenticator(config)
    except (CommandError, OTPGateError, OSError) as exc:
        yield str(exc)
        return
    try:
        authenticator.store.ping()
        create_app(config, authenticator, authenticator.store)
    except (OTPGateError, OSError) as exc:
        yield str(exc)
    finally:
        authenticator.close()


def problems(path: str | None) -> list[str]:
    """Every problem ``serve`` would meet with these settings; empty when none."""
    from .serve import parse_listen

    try:
        config = load_settings(path)
    except OTPGateError as exc:
        # load_config reports all of its problems in one message.
        text = str(exc).removeprefix("invalid configuration: ")
        return text.split("; ")
    found: list[str] = []
    try:
        parse_listen(config.web.listen)
    except CommandError as exc:
        found.append(str(exc))
    try:
        config.secrets()
    except OTPGateError as exc:
        found.append(str(exc))
    found += _file_problems(config)
    found += _open_problems(config)
    # Building the app meets a missing session secret again: say each problem once.
    return list(dict.fromkeys(found))


def _cmd_check(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    where = path or "no configuration file (OTPGATE_* and defaults)"
    found = problems(path)
    for problem in found:
        print(f"otpgate: {problem}", file=sys.stderr)
    if found:
        print(f"otpgate: {where}: {len(found)} problem(s)", file=sys.stderr)
        return 1
    print(f"otpgate: {where}: ready to serve", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``config check``."""
    csub = command_group(sub, "config", "check the gate's configuration")
    p = csub.add_parser(
        "check",
        help="check everything 'serve' would, list every problem; exit 0 or 1",
        description="Read the settings as 'otpgate serve' does, open the store, key file, "
        "PIN provider and audit log, check the session secret and the modes of files "
        "holding secrets, and list every problem found.  Exit 0 when the gate would "
        "start, 1 otherwise.",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML settings (default: $OTPGATE_CONFIG, then {DEFAULT_CONFIG_PATH} if it exists)",
    )
    p.set_defaults(handler=_cmd_check)
