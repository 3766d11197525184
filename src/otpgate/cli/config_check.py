"""``otpgate config check``: everything ``serve`` would refuse, listed at once.

Run it before a restart: it reads the settings as ``serve`` does, opens the
store, key file, PIN provider and audit log, builds the app, and checks that
files holding secrets are not readable by others.  Exit 0 when the gate
would start, 1 with every problem on its own line otherwise.  Warnings (a
store others may read, a shared state that does not answer, a users file's
lines the gate reads past: invalid ones, a user named again) do not change
the exit code: the gate starts with them.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import stat
import sys
from collections.abc import Iterator
from typing import Any

from ..config.loader import Config, secret_mode_problem
from ..errors import OTPGateError
from . import CommandError
from ._args import command_group
from ._common import CONFIG_HELP, check_exists, config_path, load_settings

__all__ = ["problems", "register", "review"]


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


def _open_problems(config: Config, warned: list[str]) -> Iterator[str]:
    """Open what the gate opens; each failure is one problem.  The shared state
    not answering is a warning (the gate starts without it) added to ``warned``."""
    from ..login.assembly import open_authenticator
    from ..web import create_app

    try:
        check_exists(config.store.url)
        authenticator = open_authenticator(config)
    except (CommandError, OTPGateError, OSError) as exc:
        yield str(exc)
        return
    try:
        authenticator.store.ping()
        warned += _usersfile_warnings(authenticator.store)
        create_app(config, authenticator, authenticator.store)
        away = authenticator.state.check()
        if away is not None:
            warned.append(
                f"state.url: {away}; the gate starts without it, each process deciding on "
                "its own (docs/scaling.md)"
            )
    except (OTPGateError, OSError) as exc:
        yield str(exc)
    finally:
        authenticator.close()


def _usersfile_warnings(store: object) -> Iterator[str]:
    """The lines of a users file the gate ignores (the first line of a user counts)."""
    from ..store.usersfile import UsersFileStore

    if isinstance(store, UsersFileStore):
        for lineno, reason in store.problems():
            yield f"users file {store.path} line {lineno} is ignored: {reason}"


def _store_warnings(config: Config) -> Iterator[str]:
    """A SQLite store others may read: PIN hashes and login state, for anyone to copy.

    ``serve`` opens it all the same (a users file or key file others can read
    it refuses); a restore with ``cp`` is how one gets there.
    """
    from ..store import parse_store_url

    kind, target, _ = parse_store_url(config.store.url)
    if kind != "sqlite" or not target or target == ":memory:":
        return
    for path in (target, target + "-wal", target + "-shm"):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # a missing store is a problem named elsewhere
        if mode & stat.S_IRWXO:
            yield (
                f"the store {path} is mode {stat.S_IMODE(mode):04o}: others may read its PIN "
                "hashes; chmod 0600 it (0640 for the gate's group)"
            )


def _directory_findings(config: Config, found: list[str], said: list[str]) -> None:
    """Bind, search with the filter, read the groups.

    Problems go to ``found``; what the directory holds to ``said``.
    """
    from ..login.directory import open_directory

    s = config.directory
    try:
        directory = open_directory(s)
    except OTPGateError as exc:
        found.append(str(exc))
        return
    import ldap

    try:
        users = directory.everyone()
        said.append(
            f"bound as {s.bind_dn or 'anonymous'} at {directory.pool.url}; "
            f"{s.user_filter} finds {len(users)} user(s) under {s.base_dn}"
            + (f", e.g. {', '.join(u.login for u in users[:3])}" if users else "")
        )
        if not users:
            found.append("directory: the user_filter finds nobody: check base_dn and user_filter")
        for name, dn in (("user_group", s.user_group), ("admin_group", s.admin_group)):
            if dn:
                members = directory.members(dn)
                enabled = sum(1 for u in members if u.enabled)
                said.append(f"{name} {dn}: {len(members)} member(s), {enabled} enabled")
    except OTPGateError as exc:
        found.append(str(exc))
    except ldap.LDAPError as exc:
        found.append(f"directory: {exc.__class__.__name__}: {exc.args[0] if exc.args else ''}")
    finally:
        directory.close()


def problems(path: str | None) -> list[str]:
    """Every problem ``serve`` would meet with these settings; empty when none."""
    return review(path)[0]


def review(path: str | None, said: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(problems ``serve`` would meet, warnings about what it starts with all the same).

    ``said`` receives what the directory check found (users, groups).
    """
    from .serve import parse_listen

    try:
        config = load_settings(path)
    except OTPGateError as exc:
        # load_config reports all of its problems in one message.
        text = str(exc).removeprefix("invalid configuration: ")
        return text.split("; "), []
    found: list[str] = []
    warned: list[str] = []
    try:
        parse_listen(config.web.listen)
    except CommandError as exc:
        found.append(str(exc))
    try:
        config.secrets()
    except OTPGateError as exc:
        found.append(str(exc))
    found += _file_problems(config)
    found += _open_problems(config, warned)
    warned += _store_warnings(config)
    if config.directory.enabled and not found:
        _directory_findings(config, found, [] if said is None else said)
    # Building the app meets a missing session secret again: say each problem once.
    return list(dict.fromkeys(found)), warned


@contextlib.contextmanager
def _own_words() -> Iterator[None]:
    """Keep the gate's log lines (a breaker saying Redis is away) off the terminal while
    checking: each thing found is said once, in the check's own words."""
    logger = logging.getLogger("otpgate")
    quiet = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(quiet)
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(quiet)


def _cmd_check(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    where = path or "no configuration file (OTPGATE_* and defaults)"
    said: list[str] = []
    with _own_words():
        found, warned = review(path, said)
    for finding in said:
        print(f"otpgate: directory: {finding}", file=sys.stderr)
    for problem in found:
        print(f"otpgate: {problem}", file=sys.stderr)
    for warning in warned:
        print(f"otpgate: warning: {warning}", file=sys.stderr)
    if found:
        print(f"otpgate: {where}: {len(found)} problem(s)", file=sys.stderr)
        return 1
    also = f" ({len(warned)} warning(s))" if warned else ""
    print(f"otpgate: {where}: ready to serve{also}", file=sys.stderr)
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
        "start, 1 otherwise.  Warnings, which leave the exit code alone: a SQLite store "
        "others may read, a [state] url that does not answer, users-file lines the gate "
        "reads past (invalid ones, a user named again: the first line counts).",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.set_defaults(handler=_cmd_check)
