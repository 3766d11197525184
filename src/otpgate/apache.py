"""Apache httpd: otpgate as a mod_wsgi authentication provider.

The reference module's block becomes::

    WSGIPythonHome /opt/otpgate/venv
    <Location /otrs>
        AuthType Basic
        AuthName "OTRS"
        AuthBasicProvider wsgi
        WSGIAuthUserScript /opt/otpgate/venv/lib/python3.11/site-packages/otpgate/apache.py
        SetEnv OTPGATE_CONFIG /etc/otpgate/otpgate.toml
        Require valid-user
    </Location>

mod_wsgi calls :func:`check_password` for every request that carries Basic
credentials.  Settings come from the TOML file named by ``OTPGATE_CONFIG``
(``SetEnv`` or the process environment, default ``/etc/otpgate/otpgate.toml``)
and from ``SetEnv OTPAuth...`` lines with the reference module's directive
names, so an old configuration can be carried over line by line.  One
Authenticator is built per Apache process and settings, on first use.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from otpgate.auth import Authenticator

__all__ = ["check_password", "reset"]

log = logging.getLogger("otpgate.apache")

_DEFAULT_CONFIG: Final = "/etc/otpgate/otpgate.toml"
_lock = threading.Lock()
_gates: dict[tuple[str | None, tuple[tuple[str, str], ...]], Authenticator] = {}
_broken: dict[tuple[str | None, tuple[tuple[str, str], ...]], str] = {}


def _settings_key(
    environ: Mapping[str, object],
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    path = environ.get("OTPGATE_CONFIG") or os.environ.get("OTPGATE_CONFIG")
    if not path and os.path.exists(_DEFAULT_CONFIG):
        path = _DEFAULT_CONFIG
    directives = tuple(sorted((k, str(v)) for k, v in environ.items() if k.startswith("OTPAuth")))
    return (str(path) if path else None), directives


def _authenticator(environ: Mapping[str, object]) -> Authenticator | None:
    key = _settings_key(environ)
    gate = _gates.get(key)
    if gate is not None:
        return gate
    with _lock:
        gate = _gates.get(key)
        if gate is not None:
            return gate
        if key in _broken:
            return None
        from otpgate.config import load_config, open_authenticator
        from otpgate.errors import OTPGateError

        try:
            config = load_config(key[0], directives=dict(key[1]))
            gate = open_authenticator(config)
        except (OTPGateError, OSError) as exc:
            # Once per process: every later request is refused without retrying.
            message = f"otpgate: cannot start, refusing all logins: {exc}"
            _broken[key] = message
            print(message, file=sys.stderr)
            return None
        _gates[key] = gate
        return gate


def check_password(environ: Mapping[str, object], user: str, password: str) -> bool | None:
    """mod_wsgi's ``AuthBasicProvider wsgi`` hook.

    Returns:
        ``True`` to accept, ``False`` to refuse (401), ``None`` for a user this
        provider does not know when ``OTPAuthFallThrough`` / ``auth.fall_through``
        is on (Apache then asks the next provider).
    """
    gate = _authenticator(environ)
    if gate is None:
        return False
    ip = str(environ.get("REMOTE_ADDR", ""))
    decision = gate.check_cached(user, password, ip)
    if decision is None:
        decision = gate.authenticate(user, password, ip)
    if decision.ok:
        return True
    if decision.reason == "unknown_user" and gate.settings.fall_through:
        return None
    return False


def reset() -> None:
    """Close every Authenticator (tests; a graceful Apache restart starts new processes)."""
    with _lock:
        for gate in _gates.values():
            gate.close()
        _gates.clear()
        _broken.clear()
