"""The commented starter configuration ``otpgate init --config PATH`` writes.

Every commented-out setting shows its default (a test uncomments each and
checks that), so the file doubles as a reference next to docs/gate.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Final

from ..config.web import WebConfig

__all__ = ["LISTEN", "STARTER", "render", "write_new_private", "write_starter"]

# Where the starter's gate listens: the pages are there until a proxy is chosen.
LISTEN: Final = WebConfig().listen

# str.format fields: store, key_file_line, secret_file, listen.  TOML strings are written
# with json.dumps (a JSON string is a valid TOML basic string for these paths).
STARTER: Final = """\
# otpgate configuration, written by `otpgate init --config`.
# Reference: docs/gate.md (every setting) and docs/operations.md (running it).
# Every setting can also come from the environment: OTPGATE_<TABLE>_<SETTING>.
# Check it with `otpgate config check --config THIS_FILE` before a restart.

[store]
# Where users and tokens live: sqlite:///REL, sqlite:////ABS, users-file:/PATH,
# postgresql://USER@HOST/DB.  Back up the store AND the key file.
url = {store}
{key_file_line}

[auth]
# The login rules (docs/accounts.md).  Defaults shown; uncomment to change.
# look_ahead = 10             # event tokens: counters searched past the expected one
# window = 1                  # time tokens: steps searched either side of now
# max_linger = 600            # seconds a used PIN+OTP is accepted again (Basic clients)
# max_otp_failures = 0        # lock a user after this many failures in a row (0 = off)
# failure_unlock_after = 900  # ... and lift that lock after this many seconds
# accept_hex = false          # also accept mod_authn_otp's hexadecimal codes
# audit_log = "/var/log/otpgate/audit.log"   # one JSON line per decision

[web]
# Where `otpgate serve` listens.  As written, the pages (sign-in, /account,
# /admin) are on this address: http://{listen}/
listen = "{listen}"
# Behind a proxy, the pages' public base: a path the proxy forwards to the gate
# (examples/nginx) or the gate's own site (examples/caddy, examples/traefik).
# portal_url = "/otpgate"     # or "https://auth.example.com"
# One secret per line, newest last; made by `otpgate init --config` (mode 0600).
session_secret_file = {secret_file}
# The proxy in front of the gate, whose X-Forwarded-For is believed.
trusted_proxies = ["127.0.0.1", "::1"]
# cookie_secure = true        # browsers keep Secure cookies on http://127.0.0.1 too
# title = "otpgate"           # shown on the login page
# log_format = "text"         # "json": one JSON object per line (journald, collectors);
#                             # decisions are logged at info: serve --log-level info
"""


def render(store: str, key_file: str | None, secret_file: str) -> str:
    """The starter text for these paths."""
    key_line = (
        f"key_file = {json.dumps(key_file)}"
        if key_file
        else "# key_file = none: this store keeps no encrypted keys"
    )
    return STARTER.format(
        store=json.dumps(store),
        key_file_line=key_line,
        secret_file=json.dumps(secret_file),
        listen=LISTEN,
    )


def write_new_private(path: Path, text: str) -> bool:
    """Create ``path`` (mode 0600) holding ``text``, atomically; ``False`` if it exists.

    Raises:
        OSError: it cannot be written.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            # link() refuses to replace: an existing file is never overwritten.
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_starter(path: Path, store: str, key_file: str | None, made: list[Path]) -> Path:
    """Write the starter config and its session secret next to it (each only if new).

    Each file written is added to ``made``, so that the caller can remove
    them again if what follows fails.  Returns the secret's path.

    Raises:
        OSError: a file cannot be written.
    """
    from ..config.loader import new_secret

    secret_file = path.parent / "session.secret"
    if write_new_private(secret_file, new_secret() + "\n"):
        made.append(secret_file)
    if write_new_private(path, render(store, key_file, str(secret_file))):
        made.append(path)
    return secret_file
