"""mod_authn_otp's directive names, and the otpgate settings each one sets.

An old Apache configuration carries over line by line: the ``[mod_authn_otp]``
table of the configuration file and :func:`otpgate.adapters.apache.provider`'s keyword
arguments take these names (docs/gate.md has the table with notes), and
Apache's ``AuthUserFile`` for ``OTPAuthPINAuthProvider file``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .kinds import parse_bool

__all__ = ["DIRECTIVES", "Put", "apply_directives", "pin_provider"]

# Gives one setting its value: (table, setting, value, where it came from).
Put = Callable[[str, str, object, str], None]

_PIN_PROVIDERS: Final = (
    "otpgate checks '+' PINs against an htpasswd file: OTPAuthPINAuthProvider file "
    "with AuthUserFile, or htpasswd:/path"
)


def _seconds(value: str) -> float:
    return float(value)


def _idle(value: str) -> float | None:
    number = float(value)
    return number if number > 0 else None


# Each reference directive -> the otpgate settings it sets, with a converter
# from the directive's text.  Apache's OTPAuthMaxOffset covered both token
# kinds; otpgate keeps a look-ahead for event and a window for time tokens.
DIRECTIVES: Final[Mapping[str, tuple[tuple[str, str, Callable[[str], Any]], ...]]] = {
    "OTPAuthUsersFile": (("store", "url", lambda v: f"users-file:{v}"),),
    "OTPAuthMaxOffset": (("auth", "look_ahead", int), ("auth", "window", int)),
    "OTPAuthMaxLinger": (("auth", "max_linger", _seconds),),
    "OTPAuthMaxIdle": (("auth", "max_idle", _idle),),
    "OTPAuthMaxOTPFailure": (("auth", "max_otp_failures", int),),
    "OTPAuthLogoutOnIPChange": (("auth", "logout_on_ip_change", parse_bool),),
    "OTPAuthFallThrough": (("auth", "fall_through", parse_bool),),
    # Resolved with AuthUserFile by pin_provider(): the two are read together.
    "OTPAuthPINAuthProvider": (),
    "AuthUserFile": (),
}


def pin_provider(names: str, auth_user_file: str | None) -> str:
    """``auth.pin_provider`` for ``OTPAuthPINAuthProvider NAMES``.

    The module asks Apache's own authentication providers for ``+`` PINs;
    otpgate reads the file Apache's ``file`` provider reads (``AuthUserFile``,
    an htpasswd file) itself.  Other providers (``ldap``, ``dbm``, ``dbd``,
    ``socache``) have no counterpart, so they are refused by name rather than
    refusing every login later.  otpgate's own ``htpasswd:/path`` passes.

    Raises:
        ValueError: the provider does not carry over (the message says what does).
    """
    if names.startswith("htpasswd:"):
        return names
    if names.strip().lower() == "file":
        if not auth_user_file:
            raise ValueError(
                "OTPAuthPINAuthProvider file needs AuthUserFile, the htpasswd file "
                "Apache's file provider reads (or name it as htpasswd:/path)"
            )
        return f"htpasswd:{auth_user_file}"
    raise ValueError(f"OTPAuthPINAuthProvider {names}: not supported; {_PIN_PROVIDERS}")


def apply_directives(
    directives: Mapping[str, object], where: str, put: Put, problems: list[str]
) -> None:
    """Translate mod_authn_otp directive names into otpgate settings, each given to ``put``
    (which checks it as any setting's value)."""
    for directive, raw in directives.items():
        targets = DIRECTIVES.get(directive)
        if targets is None:
            problems.append(f"{where}: unknown directive {directive}")
            continue
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        for section, name, parse in targets:
            try:
                value = parse(text)
            except ValueError:
                problems.append(f"{where}: {directive}: bad value {text!r}")
            else:
                put(section, name, value, where)
    names = directives.get("OTPAuthPINAuthProvider")
    if names is not None:
        path = directives.get("AuthUserFile")
        try:
            chosen = pin_provider(str(names), None if path is None else str(path))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
        else:
            put("auth", "pin_provider", chosen, where)
