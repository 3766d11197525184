"""PAM: otpgate as a PAM module, through Debian's libpam-python (pam_python.so).

pam_python runs this very file (not the package) in the system Python it is
built for (/usr/bin/python3 on Debian).  In ``/etc/pam.d/SERVICE``::

    auth required pam_python.so \
        /opt/otpgate/venv/lib/python3.11/site-packages/otpgate/adapters/pam.py \
        config=/etc/otpgate/otpgate.toml

(one line in the file).

Module arguments:

``config=FILE``
    the otpgate settings (default ``$OTPGATE_CONFIG``, else
    ``/etc/otpgate/otpgate.toml``).
``path=DIR``
    a directory to import otpgate and its dependencies from (a venv's
    site-packages); default: the directory this file's package lies in.
``use_first_pass``
    take PIN+code, as one password, from ``PAM_AUTHTOK`` (set by a module
    stacked above); never prompt.
``try_first_pass``
    the same when ``PAM_AUTHTOK`` is set, else prompt.
``single_prompt``
    ask once, ``PIN and one-time code:``, for applications that answer
    every prompt with the same password (OpenVPN's auth-pam plugin,
    python-pam, mail servers).
``linger=SECONDS``
    accept a used PIN+code again for this long (default 0: every login
    needs a new code; each PAM login is a new process, so a lingering code
    would be accepted again by the next one).

Without ``use_first_pass`` the module asks ``PIN:`` and ``One-time code:``
through the PAM conversation (OpenSSH shows them as keyboard-interactive
prompts).  Results: ``PAM_SUCCESS``; ``PAM_AUTH_ERR`` for a wrong PIN, code,
replay or malformed input; ``PAM_MAXTRIES`` when throttled or locked for a
while; ``PAM_USER_UNKNOWN``; ``PAM_AUTHINFO_UNAVAIL`` when the store or the
settings cannot be used.  Only the standard library is imported before the
arguments are read: otpgate itself comes from ``path``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import syslog
from pathlib import Path
from typing import Any, Final, NamedTuple

__all__ = [
    "Options",
    "pam_sm_acct_mgmt",
    "pam_sm_authenticate",
    "pam_sm_setcred",
    "parse_args",
    "result_code",
]

PIN_PROMPT: Final = "PIN: "
CODE_PROMPT: Final = "One-time code: "
SINGLE_PROMPT: Final = "PIN and one-time code: "
_DEFAULT_CONFIG: Final = "/etc/otpgate/otpgate.toml"
_WAIT: Final = "Too many failed attempts: try again in {} seconds."
# Nothing longer is ever a PIN+code (otpgate._limits.MAX_PASSWORD); checked
# again by the Authenticator, this only keeps a flood out of memory.
_MAX_ANSWER: Final = 1024


class Options(NamedTuple):
    """The module arguments.

    A NamedTuple, not a dataclass: pam_python runs this file without
    registering it in ``sys.modules``, which ``dataclass`` needs.
    """

    config: str | None = None
    path: str | None = None
    use_first_pass: bool = False
    try_first_pass: bool = False
    single_prompt: bool = False
    linger: float = 0.0


def parse_args(argv: list[str]) -> Options:
    """Parse ``argv[1:]`` (``argv[0]`` is this file's path).

    Raises:
        ValueError: an unknown argument or a bad value, named in the message.
    """
    values: dict[str, Any] = {}
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if name in ("use_first_pass", "try_first_pass", "single_prompt") and not eq:
            values[name] = True
        elif name in ("config", "path") and eq and value:
            values[name] = value
        elif name == "linger" and eq:
            try:
                seconds = float(value)
            except ValueError:
                seconds = math.nan
            if not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"linger={value}: expected a number of seconds")
            values[name] = seconds
        else:
            raise ValueError(f"unknown or incomplete module argument {arg!r}")
    return Options(**values)


def _log(priority: int, text: str) -> None:
    syslog.openlog("otpgate", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(priority, text)


def _import_path(options: Options) -> None:
    # Installed in a venv, this file is site-packages/otpgate/adapters/pam.py: the
    # folder two above its own holds otpgate and everything it needs.
    where = options.path or str(Path(__file__).resolve().parents[2])
    if where not in sys.path:
        sys.path.insert(0, where)


def result_code(pamh: Any, ok: bool, reason: str, retry_after: float | None) -> int:
    """The PAM return code for one decision."""
    from otpgate.login.reasons import Reason

    if ok:
        return int(pamh.PAM_SUCCESS)
    if reason == Reason.STORE_ERROR:
        return int(pamh.PAM_AUTHINFO_UNAVAIL)
    if retry_after is not None:
        return int(pamh.PAM_MAXTRIES)
    if reason == Reason.UNKNOWN_USER:
        return int(pamh.PAM_USER_UNKNOWN)
    return int(pamh.PAM_AUTH_ERR)


def _ask(pamh: Any, prompt: str) -> str | None:
    """One answer through the conversation; ``None`` when there is none usable."""
    try:
        answer = pamh.conversation(pamh.Message(pamh.PAM_PROMPT_ECHO_OFF, prompt)).resp
    except UnicodeDecodeError:
        return None  # not UTF-8: nobody's PIN or code
    if not isinstance(answer, str) or len(answer) > _MAX_ANSWER:
        return None
    return answer


def _password(pamh: Any, options: Options) -> str | None:
    if options.use_first_pass or options.try_first_pass:
        try:
            token = pamh.authtok
        except UnicodeDecodeError:
            return None
        if token is not None or options.use_first_pass:
            return token if isinstance(token, str) else None
    if options.single_prompt:
        return _ask(pamh, SINGLE_PROMPT)
    pin = _ask(pamh, PIN_PROMPT)
    if pin is None:
        return None
    code = _ask(pamh, CODE_PROMPT)
    return None if code is None else pin + code


def _tell(pamh: Any, text: str) -> None:
    # A client that is gone cannot be told; the result stands all the same.
    with contextlib.suppress(Exception):
        pamh.conversation(pamh.Message(pamh.PAM_ERROR_MSG, text))


def _authenticator(options: Options) -> Any:
    """The process's Authenticator for this config file and linger (:mod:`.per_process`).

    The cache lives in that module, not here: pam_python runs this file as a
    new module for every PAM handle, but ``sys.modules`` holds otpgate once.
    """
    from otpgate.adapters import per_process

    path = options.config or os.environ.get("OTPGATE_CONFIG") or _DEFAULT_CONFIG
    return per_process.pam().get((path, options.linger))


def pam_sm_authenticate(pamh: Any, flags: int, argv: list[str]) -> int:
    """Decide one login: PIN and one-time code, asked for or taken from PAM_AUTHTOK."""
    try:
        options = parse_args(argv)
    except ValueError as exc:
        _log(syslog.LOG_ERR, f"bad module arguments: {exc}")
        return int(pamh.PAM_AUTHINFO_UNAVAIL)
    try:
        user = pamh.get_user(None)
    except (pamh.exception, UnicodeDecodeError):
        return int(pamh.PAM_USER_UNKNOWN)
    if not user:
        return int(pamh.PAM_USER_UNKNOWN)
    try:
        _import_path(options)
        authenticator = _authenticator(options)
    except Exception as exc:  # ConfigError, StoreError, OSError, ImportError
        _log(syslog.LOG_ERR, f"cannot start: {exc.__class__.__name__}: {exc}")
        return int(pamh.PAM_AUTHINFO_UNAVAIL)
    password = _password(pamh, options)
    if password is None:
        return int(pamh.PAM_AUTH_ERR)
    try:
        ip = pamh.rhost or "local"
    except UnicodeDecodeError:
        ip = "local"
    decision = authenticator.login(authenticator.attempt(user, password, ip))
    # PAM_SILENT: the application asked for no messages.
    if decision.retry_after is not None and not decision.ok and not flags & pamh.PAM_SILENT:
        from otpgate._limits import retry_after_seconds

        _tell(pamh, _WAIT.format(retry_after_seconds(decision.retry_after)))
    return result_code(pamh, decision.ok, decision.reason, decision.retry_after)


def pam_sm_setcred(pamh: Any, flags: int, argv: list[str]) -> int:
    """No credentials to set: a PIN and a code are not a Kerberos ticket."""
    return int(pamh.PAM_SUCCESS)


def pam_sm_acct_mgmt(pamh: Any, flags: int, argv: list[str]) -> int:
    """Account checks belong to other modules (pam_unix); this one only authenticates."""
    return int(pamh.PAM_IGNORE)
