"""Apache httpd: otpgate as a mod_wsgi authentication provider.

The reference module's block becomes::

    WSGIPythonHome /opt/otpgate/venv
    <Location /otrs>
        AuthType Basic
        AuthName "OTRS"
        AuthBasicProvider wsgi
        WSGIAuthUserScript /etc/otpgate/apache-auth.py
        Require valid-user
    </Location>

with ``/etc/otpgate/apache-auth.py`` being::

    from otpgate.adapters.apache import provider
    check_password = provider("/etc/otpgate/otpgate.toml", OTPAuthMaxLinger=600)

mod_wsgi calls ``check_password(environ, user, password)`` for every request
that carries Basic credentials.  ``provider`` takes the TOML file and,
optionally, the reference module's directive names as keyword arguments, so an
old configuration carries over line by line.  (``SetEnv`` cannot carry them:
mod_env runs after authentication, and mod_wsgi hands the provider only the
CGI variables.)  Pointing ``WSGIAuthUserScript`` at this module itself uses
``$OTPGATE_CONFIG`` from Apache's environment (``/etc/apache2/envvars``), else
``/etc/otpgate/otpgate.toml``.

One Authenticator is built per Apache process and settings, on first use, and
closed when the process exits (:mod:`otpgate.adapters.per_process`); a
configuration that cannot be loaded is reported once to the error log and
every login is refused.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from otpgate._limits import MAX_PASSWORD, MAX_USER, has_control
from otpgate.adapters.per_process import PerProcess
from otpgate.login.rules import passed_on

if TYPE_CHECKING:
    from otpgate.config.loader import Config
    from otpgate.login.authenticator import Authenticator

__all__ = ["DEFAULT_CONFIG", "CheckPassword", "check_password", "provider", "reset"]

DEFAULT_CONFIG: Final = "/etc/otpgate/otpgate.toml"

CheckPassword = Callable[[Mapping[str, object], str, str], "bool | None"]
_Key = tuple[str | None, tuple[tuple[str, str], ...]]


def _open(key: _Key) -> Authenticator:
    from otpgate.config.loader import load_config
    from otpgate.login.assembly import open_authenticator

    return open_authenticator(_one_host(load_config(key[0], directives=dict(key[1]))))


_kept: PerProcess[_Key] = PerProcess(_open)
_lock = threading.Lock()
_broken: set[_Key] = set()


def _authenticator(key: _Key) -> Authenticator | None:
    """The process's Authenticator for these settings, built on first use."""
    if key in _broken:
        return None
    from otpgate.errors import OTPGateError

    try:
        return _kept.get(key)
    except (OTPGateError, OSError) as exc:
        # Once per process: later requests are refused without retrying.
        with _lock:
            first = key not in _broken
            _broken.add(key)
        if first:
            print(f"otpgate: cannot start, refusing all logins: {exc}", file=sys.stderr)
        return None


def _one_host(config: Config) -> Config:
    """Without ``[state] url``, Apache's children share a throttle file beside the store.

    Each child is a process of its own: without this, a guesser gets the
    free guesses once per child.  When the store's directory is not writable
    (the file cannot be made there), each child throttles on its own.
    """
    from otpgate.config.loader import replace_section
    from otpgate.state import one_host_url

    if config.state.url:
        return config
    url = one_host_url(config.store.url)
    if url is None or not os.access(
        os.path.dirname(url.removeprefix("sqlite:///")) or ".", os.W_OK
    ):
        return config
    return replace_section(config, "state", url=url)


def _well_formed(user: str, password: str) -> bool:
    """The input every other front end accepts too (:mod:`otpgate._limits`)."""
    return 0 < len(user) <= MAX_USER and not has_control(user) and len(password) <= MAX_PASSWORD


def _check(key: _Key, environ: Mapping[str, object], user: str, password: str) -> bool | None:
    authenticator = _authenticator(key)
    if authenticator is None or not _well_formed(user, password):
        return False
    ip = str(environ.get("REMOTE_ADDR", ""))
    # The cached answer first: a browser re-sends Basic credentials with every
    # request, and a lingering one must cost neither a store read nor a hash.
    # write_behind: a known user's wrong code is answered as fast as an unknown user's.
    # next_provider: as the module, a name otpgate does not know is the next
    # AuthBasicProvider's (so not counted: its users send passwords here too).
    attempt = authenticator.attempt(user, password, ip, write_behind=True, next_provider=True)
    decision = authenticator.login(attempt)
    if decision.ok:
        return True
    if passed_on(decision.reason, authenticator.settings.fall_through):
        return None  # Apache asks the next AuthBasicProvider (AUTH_USER_NOT_FOUND)
    return False


def provider(config: str | os.PathLike[str] | None = None, **directives: object) -> CheckPassword:
    """A ``check_password`` for ``WSGIAuthUserScript`` bound to these settings.

    Args:
        config: the TOML settings file; ``None`` for defaults plus the
            ``OTPGATE_*`` environment variables.
        directives: mod_authn_otp directive names, e.g.
            ``OTPAuthUsersFile="/etc/otp/users"``, ``OTPAuthMaxLinger=600``.

    Returns:
        ``check_password(environ, user, password)``: ``True`` to accept,
        ``False`` to refuse (401), ``None`` to let the next
        ``AuthBasicProvider`` decide: for an unknown user, and with
        ``OTPAuthFallThrough On`` for every refusal the module passes on
        (:func:`otpgate.login.rules.passed_on`).
    """
    values = {
        k: (("on" if v else "off") if isinstance(v, bool) else str(v))
        for k, v in directives.items()
    }
    key: _Key = (os.fspath(config) if config is not None else None, tuple(sorted(values.items())))

    def check_password(environ: Mapping[str, object], user: str, password: str) -> bool | None:
        return _check(key, environ, user, password)

    return check_password


def check_password(environ: Mapping[str, object], user: str, password: str) -> bool | None:
    """The provider with ``$OTPGATE_CONFIG`` or ``/etc/otpgate/otpgate.toml``."""
    path = os.environ.get("OTPGATE_CONFIG") or (
        DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None
    )
    return _check((path, ()), environ, user, password)


def reset() -> None:
    """Close every Authenticator (tests; Apache starts fresh processes on restart)."""
    _kept.close()
    with _lock:
        _broken.clear()
