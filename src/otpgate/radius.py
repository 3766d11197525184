"""FreeRADIUS: otpgate decides PAP Access-Requests in process (``rlm_python3``).

FreeRADIUS 3.2 loads this module into its own process through Debian's
``freeradius-python3`` and calls :func:`instantiate` once at start,
:func:`authenticate` for every Access-Request the site hands to it (from
several threads at once) and :func:`detach` at the end.  The module block
(``examples/freeradius/mods-enabled/otpgate``)::

    python3 otpgate {
        python_path = "/opt/otpgate/venv/lib/python3.11/site-packages"
        module = otpgate.radius
        pass_all_vps_dict = yes
        mod_instantiate = ${.module}
        func_instantiate = instantiate
        mod_authenticate = ${.module}
        func_authenticate = authenticate
        mod_detach = ${.module}
        func_detach = detach
        config {
            config_file = "/etc/otpgate/otpgate.toml"
            linger = 0
        }
    }

One :class:`~otpgate.auth.Authenticator` serves the whole FreeRADIUS process,
so its throttle and caches see every request.  The client's address for the
throttle and the audit log is ``Calling-Station-Id`` (what the VPN
concentrator or access point says the user connects from), else
``NAS-IP-Address``, else ``Packet-Src-IP-Address``.

Lingering is off unless ``linger`` is set: a RADIUS client sends a PIN+OTP
once per session, so a second Access-Request with the same code is a replay,
not a browser re-sending Basic credentials.  (Retransmissions of one packet
never get here: FreeRADIUS answers them from its duplicate cache.)
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._limits import retry_after_seconds
from .reasons import Reason

if TYPE_CHECKING:
    from .auth import Authenticator, Decision

__all__ = [
    "REFUSED",
    "RLM_MODULE_FAIL",
    "RLM_MODULE_NOTFOUND",
    "RLM_MODULE_OK",
    "RLM_MODULE_REJECT",
    "authenticate",
    "client_address",
    "detach",
    "instantiate",
    "open_gate",
    "reply_for",
]

log = logging.getLogger(__name__)

# Return codes from FreeRADIUS's modules.h (rlm_python3's ``radiusd`` module
# holds the same numbers; it only exists inside the server, so they are here too).
RLM_MODULE_REJECT: Final = 0
RLM_MODULE_FAIL: Final = 1
RLM_MODULE_OK: Final = 2
RLM_MODULE_NOTFOUND: Final = 6
# radlog levels (log.h).
_L_INFO: Final = 3
_L_ERR: Final = 4

# What the NAS may show the user.  One text for every refusal, so nothing
# tells a guesser which factor (or whether the user name) was wrong.
REFUSED: Final = "Login failed: wrong user name, PIN or code."
_WAIT: Final = "Too many failed attempts: try again in {} seconds."
_UNAVAILABLE: Final = "Login is not possible right now; try again later."
_DEFAULT_CONFIG: Final = "/etc/otpgate/otpgate.toml"
# Calling-Station-Id is free text from the NAS (an address, a MAC, a phone
# number); a bound keeps throttle keys and audit lines small.
_MAX_ADDRESS: Final = 128

Reply = tuple[int, dict[str, tuple[tuple[str, str], ...]]]

_lock = threading.Lock()
_gate: Authenticator | None = None
_fall_through = False


def open_gate(config_file: str | None, linger: float = 0.0) -> Authenticator:
    """Build the Authenticator from an otpgate.toml, with RADIUS's linger setting.

    Raises:
        ConfigError: the file or a setting is invalid.
        StoreError: the store cannot be opened.
        OSError: the audit log cannot be opened.
    """
    from .config import load_config, open_authenticator

    overrides: dict[str, dict[str, object]] = {"auth": {"max_linger": linger, "max_idle": None}}
    return open_authenticator(load_config(config_file, overrides=overrides))


def _radlog(level: int, text: str) -> None:
    try:
        import radiusd  # type: ignore[import-not-found]  # only inside FreeRADIUS
    except ImportError:
        log.log(logging.ERROR if level == _L_ERR else logging.INFO, "%s", text)
        return
    radiusd.radlog(level, text)


def _settings(source: Mapping[str, Any]) -> tuple[str | None, float]:
    path = source.get("config_file") or None
    raw = source.get("linger", "0") or "0"
    linger = float(raw)
    if math.isnan(linger) or linger < 0:
        raise ValueError(f"linger must be a non-negative number of seconds, not {raw!r}")
    return (str(path) if path else None), linger


def instantiate(p: object = None) -> int:
    """FreeRADIUS start: open the store named by the module's ``config`` section.

    Returns 0, or -1 (FreeRADIUS then refuses to start, with the reason logged).
    """
    global _gate, _fall_through
    try:
        import radiusd

        section: Mapping[str, Any] = radiusd.config
    except ImportError:
        section = {}
    try:
        path, linger = _settings(section)
        gate = open_gate(path or _DEFAULT_CONFIG, linger)
    except (ValueError, OSError) as exc:  # ConfigError and StoreError's config cases
        _radlog(_L_ERR, f"otpgate: cannot start: {exc}")
        return -1
    except Exception as exc:
        _radlog(_L_ERR, f"otpgate: cannot open the store: {exc.__class__.__name__}: {exc}")
        return -1
    with _lock:
        old, _gate, _fall_through = _gate, gate, gate.settings.fall_through
    if old is not None:
        old.close()
    _radlog(_L_INFO, f"otpgate: deciding Access-Requests with {path or _DEFAULT_CONFIG}")
    return 0


def detach(p: object = None) -> int:
    """FreeRADIUS stop (or reload): close the store and the audit log."""
    global _gate
    with _lock:
        old, _gate = _gate, None
    if old is not None:
        old.close()
    return RLM_MODULE_OK


def _pairs(p: object) -> Iterable[tuple[str, str]]:
    """The request's attributes, from either of rlm_python3's calling conventions."""
    if isinstance(p, Mapping):
        p = p.get("request", ())
    if not isinstance(p, tuple | list):
        return ()
    return ((a, v) for a, v, *_ in p if isinstance(a, str) and isinstance(v, str))


def client_address(attrs: Mapping[str, str]) -> str:
    """Who the throttle counts: Calling-Station-Id, else the NAS's address."""
    for name in ("Calling-Station-Id", "NAS-IPv6-Address", "NAS-IP-Address"):
        value = attrs.get(name, "").strip()
        if value:
            return value[:_MAX_ADDRESS]
    return attrs.get("Packet-Src-IP-Address", "") or "unknown"


def reply_for(decision: Decision, *, fall_through: bool = False) -> Reply:
    """The module's return code and reply attributes for one decision."""
    if decision.ok:
        return RLM_MODULE_OK, {}
    reason = decision.reason
    if reason == Reason.STORE_ERROR:
        return RLM_MODULE_FAIL, {"reply": (("Reply-Message", _UNAVAILABLE),)}
    if decision.retry_after is not None:
        wait = retry_after_seconds(decision.retry_after)
        return RLM_MODULE_REJECT, {"reply": (("Reply-Message", _WAIT.format(wait)),)}
    if reason == Reason.UNKNOWN_USER and fall_through:
        # Only with OTPAuthFallThrough: the site may hand the user to another module.
        return RLM_MODULE_NOTFOUND, {}
    return RLM_MODULE_REJECT, {"reply": (("Reply-Message", REFUSED),)}


def authenticate(p: object) -> Reply:
    """FreeRADIUS ``authenticate``: decide one PAP Access-Request."""
    attrs = dict(_pairs(p))
    gate = _gate
    if gate is None:
        _radlog(_L_ERR, "otpgate: not instantiated; refusing")
        return RLM_MODULE_FAIL, {"reply": (("Reply-Message", _UNAVAILABLE),)}
    user = attrs.get("User-Name", "")
    password = attrs.get("User-Password")
    if password is None:
        # CHAP, MS-CHAP and EAP never carry the password itself: nothing to check.
        _radlog(_L_INFO, "otpgate: no User-Password (only PAP carries a PIN+OTP); refusing")
        return RLM_MODULE_REJECT, {"reply": (("Reply-Message", REFUSED),)}
    decision = gate.authenticate(user, password, client_address(attrs))
    return reply_for(decision, fall_through=_fall_through)
