"""FreeRADIUS: otpgate decides PAP Access-Requests in process (``rlm_python3``).

FreeRADIUS 3.2 loads this module into its own process through Debian's
``freeradius-python3`` and calls :func:`instantiate` once at start,
:func:`authenticate` for every Access-Request the site hands to it (from
several threads at once) and :func:`detach` at the end.  The module block
(``examples/freeradius/mods-enabled/otpgate``)::

    python3 otpgate {
        python_path = "/opt/otpgate/venv/lib/python3.11/site-packages"
        module = otpgate.adapters.radius
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
            challenge = no
        }
    }

One :class:`~otpgate.login.authenticator.Authenticator` serves the whole FreeRADIUS process,
so its throttle and caches see every request.  The client's address for the
throttle and the audit log is ``Calling-Station-Id`` (what the VPN
concentrator or access point says the user connects from), else
``NAS-IP-Address``, else ``Packet-Src-IP-Address``.

With ``challenge = yes`` logins take two steps: the first Access-Request's
password is the PIN, answered with an Access-Challenge ("One-time code:")
and a State; the NAS sends the code with that State, and PIN + code are then
decided together (:class:`PendingChallenges`).

Lingering is off unless ``linger`` is set: a RADIUS client sends a PIN+OTP
once per session, so a second Access-Request with the same code is a replay,
not a browser re-sending Basic credentials.  (Retransmissions of one packet
never get here: FreeRADIUS answers them from its duplicate cache.)
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._limits import retry_after_seconds
from ..login.reasons import Reason
from ..login.rules import passed_on

if TYPE_CHECKING:
    from ..login.authenticator import Authenticator, Decision

__all__ = [
    "CHALLENGE_TTL",
    "CODE_PROMPT",
    "REFUSED",
    "RLM_MODULE_FAIL",
    "RLM_MODULE_HANDLED",
    "RLM_MODULE_NOTFOUND",
    "RLM_MODULE_OK",
    "RLM_MODULE_REJECT",
    "PendingChallenges",
    "authenticate",
    "client_address",
    "detach",
    "instantiate",
    "open_authenticator_for",
    "reply_for",
]

log = logging.getLogger(__name__)

# Return codes from FreeRADIUS's modules.h (rlm_python3's ``radiusd`` module
# holds the same numbers; it only exists inside the server, so they are here too).
RLM_MODULE_REJECT: Final = 0
RLM_MODULE_FAIL: Final = 1
RLM_MODULE_OK: Final = 2
RLM_MODULE_HANDLED: Final = 3
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
CODE_PROMPT: Final = "One-time code:"
# Two-step logins: how long a NAS may take to come back with the code, and
# how many such PINs wait at most (oldest dropped first).
CHALLENGE_TTL: Final = 120.0
_MAX_CHALLENGES: Final = 10_000
# Calling-Station-Id is free text from the NAS (an address, a MAC, a phone
# number); a bound keeps throttle keys and audit lines small.
_MAX_ADDRESS: Final = 128

Reply = tuple[int, dict[str, tuple[tuple[str, str], ...]]]


class PendingChallenges:
    """PINs waiting for their code (two-step logins), keyed by a random State.

    The PIN is not checked on its own: it waits here, unread, until the code
    arrives, and PIN + code then take the same path as a one-step login.  So
    a challenge tells nobody whether the PIN was right, and costs no store
    access and no hash.  Each State is used once and expires.
    """

    def __init__(self, ttl: float = CHALLENGE_TTL, size: int = _MAX_CHALLENGES) -> None:
        self.ttl, self.size = ttl, size
        self._pending: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, user: str, pin: str, now: float) -> str:
        """Keep the PIN; returns the State (``0x`` + 32 hex digits) for the NAS."""
        state = "0x" + secrets.token_hex(16)
        with self._lock:
            self._pending[state] = (user, pin, now + self.ttl)
            while len(self._pending) > self.size:
                self._pending.popitem(last=False)
        return state

    def take(self, state: str, user: str, now: float) -> str | None:
        """The PIN for this State and user, once; ``None`` if unknown, used or expired."""
        with self._lock:
            entry = self._pending.pop(state.lower(), None)
        if entry is None or entry[2] < now or entry[0] != user:
            return None
        return entry[1]


_lock = threading.Lock()
_authenticator: Authenticator | None = None
_fall_through = False
_two_step = False
_challenges = PendingChallenges()


def open_authenticator_for(config_file: str | None, linger: float = 0.0) -> Authenticator:
    """Build the Authenticator from an otpgate.toml, with RADIUS's linger setting.

    Raises:
        ConfigError: the file or a setting is invalid.
        StoreError: the store cannot be opened.
        OSError: the audit log cannot be opened.
    """
    from ..config.loader import load_config
    from ..login.assembly import open_authenticator

    overrides: dict[str, dict[str, object]] = {"auth": {"max_linger": linger, "max_idle": None}}
    return open_authenticator(load_config(config_file, overrides=overrides))


def _radlog(level: int, text: str) -> None:
    try:
        import radiusd  # type: ignore[import-not-found]  # only inside FreeRADIUS
    except ImportError:
        log.log(logging.ERROR if level == _L_ERR else logging.INFO, "%s", text)
        return
    radiusd.radlog(level, text)


def _settings(source: Mapping[str, Any]) -> tuple[str | None, float, bool]:
    """(config_file, linger, challenge) from the module's ``config`` section."""
    path = source.get("config_file") or None
    raw = source.get("linger", "0") or "0"
    linger = float(raw)
    if math.isnan(linger) or linger < 0:
        raise ValueError(f"linger must be a non-negative number of seconds, not {raw!r}")
    challenge = str(source.get("challenge", "no")).strip().lower()
    if challenge not in ("yes", "no"):
        raise ValueError(f"challenge must be yes or no, not {challenge!r}")
    return (str(path) if path else None), linger, challenge == "yes"


def instantiate(p: object = None) -> int:
    """FreeRADIUS start: open the store named by the module's ``config`` section.

    Returns 0, or -1 (FreeRADIUS then refuses to start, with the reason logged).
    """
    global _authenticator, _fall_through, _two_step
    try:
        import radiusd

        section: Mapping[str, Any] = radiusd.config
    except ImportError:
        section = {}
    try:
        path, linger, two_step = _settings(section)
        authenticator = open_authenticator_for(path or _DEFAULT_CONFIG, linger)
    except (ValueError, OSError) as exc:  # ConfigError and StoreError's config cases
        _radlog(_L_ERR, f"otpgate: cannot start: {exc}")
        return -1
    except Exception as exc:
        _radlog(_L_ERR, f"otpgate: cannot open the store: {exc.__class__.__name__}: {exc}")
        return -1
    with _lock:
        old, _authenticator = _authenticator, authenticator
        _fall_through, _two_step = authenticator.settings.fall_through, two_step
    if old is not None:
        old.close()
    _radlog(_L_INFO, f"otpgate: deciding Access-Requests with {path or _DEFAULT_CONFIG}")
    return 0


def detach(p: object = None) -> int:
    """FreeRADIUS stop (or reload): close the store and the audit log."""
    global _authenticator
    with _lock:
        old, _authenticator = _authenticator, None
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
    if fall_through and passed_on(reason, fall_through):
        # Only with OTPAuthFallThrough (a notfound without it would tell unknown
        # names apart): the site may hand the user to another module.
        return RLM_MODULE_NOTFOUND, {}
    if decision.retry_after is not None:
        wait = retry_after_seconds(decision.retry_after)
        return RLM_MODULE_REJECT, {"reply": (("Reply-Message", _WAIT.format(wait)),)}
    return RLM_MODULE_REJECT, {"reply": (("Reply-Message", REFUSED),)}


def authenticate(p: object) -> Reply:
    """FreeRADIUS ``authenticate``: decide one PAP Access-Request."""
    attrs = dict(_pairs(p))
    authenticator = _authenticator
    if authenticator is None:
        _radlog(_L_ERR, "otpgate: not instantiated; refusing")
        return RLM_MODULE_FAIL, {"reply": (("Reply-Message", _UNAVAILABLE),)}
    user = attrs.get("User-Name", "")
    password = attrs.get("User-Password")
    if password is None:
        # CHAP, MS-CHAP and EAP never carry the password itself: nothing to check.
        _radlog(_L_INFO, "otpgate: no User-Password (only PAP carries a PIN+OTP); refusing")
        return RLM_MODULE_REJECT, {"reply": (("Reply-Message", REFUSED),)}
    if _two_step:
        state = attrs.get("State")
        if state is None:
            return _challenge(user, password)
        pin = _challenges.take(state, user, time.time())
        if pin is None:
            return RLM_MODULE_REJECT, {"reply": (("Reply-Message", REFUSED),)}
        password = pin + password
    # write_behind: a known user's wrong code is answered as fast as an unknown user's.
    attempt = authenticator.attempt(user, password, client_address(attrs), write_behind=True)
    decision = authenticator.login(attempt)
    return reply_for(decision, fall_through=_fall_through)


def _challenge(user: str, pin: str) -> Reply:
    """First step: keep the PIN and ask the NAS for the code (Access-Challenge)."""
    state = _challenges.add(user, pin, time.time())
    return RLM_MODULE_HANDLED, {
        "reply": (("Reply-Message", CODE_PROMPT), ("State", state)),
        "config": (("Response-Packet-Type", "Access-Challenge"),),
    }
