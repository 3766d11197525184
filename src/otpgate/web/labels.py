"""Words a person reads for what the gate records, in the page's language.

The audit log is written for machines: stable English words (``reject``,
``no_match``, ``failures 3 -> 0``) that scripts and ``grep`` rely on.  The
pages show these labels instead: every login :class:`~otpgate.login.reasons.Reason`,
every self-service :class:`~otpgate.accounts.selfservice.Event`, every administrative
action, token kind, PIN kind and role has one English message id here, and
its German in :mod:`._labels_de`.  tests/web/test_labels.py enumerates the
enums and the actions the code writes, so a new one without a label fails.

One vocabulary for tokens everywhere (the invite form, the user page, the
account page, the audit view): "TOTP: a new code every 30 seconds", not the
users file's ``HOTP/T30`` in one place and "TOTP" in another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..accounts.selfservice import Event
from ..errors import OTPGateError
from ..login.reasons import Reason
from ..otp.tokens import TokenType, parse_token_type
from ..store.query import token_kind
from .i18n import translator

__all__ = ["ACTIONS", "ALL", "EVENTS", "EXPIRY", "REASONS", "Words"]

REASONS: Final[Mapping[str, str]] = {
    Reason.OTP: "Signed in: PIN and one-time code",
    Reason.LINGER: "Signed in: the same code again, within the linger time",
    Reason.RECOVERY: "Signed in: PIN and recovery code",
    Reason.SESSION: "Signed in: session cookie",
    Reason.BAD_PIN: "Refused: wrong PIN (the code was right and is used up)",
    Reason.NO_MATCH: "Refused: wrong code",
    Reason.REPLAYED: "Refused: a code used before",
    Reason.MALFORMED: "Refused: not a PIN and code of this token",
    Reason.THROTTLED: "Refused unchecked: too many failures",
    Reason.LOCKED: "Refused: the user is locked",
    Reason.UNKNOWN_USER: "Refused: no such user",
    Reason.STORE_ERROR: "Refused: the store did not answer",
    Reason.LOGOUT: "Signed out",
    Reason.PASSKEY: "Signed in: passkey",
    Reason.PASSKEY_REFUSED: "Refused: not a valid passkey answer",
    Reason.PASSKEY_CLONED: "Refused: a cloned passkey (its counter went back)",
}
EVENTS: Final[Mapping[str, str]] = {
    Event.INVITED: "Enrolment link made",
    Event.INVITE_REVOKED: "Enrolment links revoked",
    Event.ENROLLED: "Token enrolled",
    Event.TOKEN_REPLACED: "Token replaced",
    Event.PIN_CHANGED: "PIN changed",
    Event.RECOVERY_RENEWED: "New recovery codes",
    Event.SESSION_CREATED: "Session started",
}
# The ``action`` of every administrative audit line (administration.py, cli/).
ACTIONS: Final[Mapping[str, str]] = {
    "add": "User added",
    "remove": "User removed",
    "set_pin": "PIN set",
    "resync": "Token resynchronised",
    "lock": "User locked",
    "unlock": "User unlocked",
    "recovery_codes": "New recovery codes",
    "replace_token": "Token replaced",
    "set_role": "Role changed",
    "invite": "Invited",
    "reset": "Reset link made",
    "revoke_invitations": "Open links revoked",
}
RESULTS: Final[Mapping[str, str]] = {"refused": "refused", "error": "failed"}
KINDS: Final[Mapping[str, str]] = {"totp": "TOTP", "hotp": "HOTP", "motp": "Mobile-OTP"}
KIND_TEXT: Final[Mapping[str, str]] = {
    "totp": "TOTP: a new code every {n} seconds",
    "hotp": "HOTP: a new code at each press",
    "motp": "Mobile-OTP: a new code every {n} seconds",
}
DIGITS: Final = "{n} digits"
PIN_KINDS: Final[Mapping[str, str]] = {
    "none": "no PIN: the code alone",
    "delegated": "checked by another service",
    "plain": "kept in plain text (users file)",
    "hash": "kept as a hash",
}
ROLES: Final[Mapping[str, str]] = {"admin": "administrator", "user": "user"}
# Where an administrator acted (``via`` of an admin audit line).
VIA: Final[Mapping[str, str]] = {"web": "browser", "cli": "terminal"}
# How long an invitation link works: the choices of the admin pages.
EXPIRY: Final[Mapping[str, str]] = {
    "1h": "1 hour",
    "24h": "24 hours",
    "72h": "3 days",
    "7d": "7 days",
}
SESSIONS_ENDED: Final = "sessions ended"
DETAILS: Final = (
    SESSIONS_ENDED,
    "failures {n} → 0",
    "counter {old} → {new}",
    "clock drift {old} → {new} steps",
    "the two codes do not follow each other",
    "{n} new codes; earlier ones no longer work",
    "link for {kind}, valid {hours} h",
    "{n} links revoked",
    "{kind}; administrator",
    "{kind}; sessions ended",
    "PIN {pin}; sessions ended",
    "for a new user",
    "to replace the token",
)

ALL: Final = (
    *REASONS.values(), *EVENTS.values(), *ACTIONS.values(), *RESULTS.values(),
    *KINDS.values(), *KIND_TEXT.values(), DIGITS, *PIN_KINDS.values(), *ROLES.values(),
    *VIA.values(), *EXPIRY.values(), *DETAILS,
)  # fmt: skip

# The admin details as administration.py and the commands write them.
_NUMBER = r"(-?\d+)"
_LINK: Final = ((r"(\S+) link, valid ([0-9.]+) h", "link for {kind}, valid {hours} h"),)
_DETAIL_FORMS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "lock": ((r"locked; sessions revoked", SESSIONS_ENDED),),
    "unlock": ((rf"failures {_NUMBER} -> 0", "failures {n} → 0"),),
    "resync": (
        (rf"counter {_NUMBER} -> {_NUMBER}", "counter {old} → {new}"),
        (rf"drift {_NUMBER} -> {_NUMBER}", "clock drift {old} → {new} steps"),
        (r"codes not consecutive", "the two codes do not follow each other"),
    ),
    "recovery_codes": (
        (rf"{_NUMBER} new codes; earlier ones void", "{n} new codes; earlier ones no longer work"),
    ),
    "invite": _LINK,
    "reset": _LINK,
    "revoke_invitations": ((rf"{_NUMBER} revoked", "{n} links revoked"),),
    "add": ((r"(\S+), administrator", "{kind}; administrator"), (r"(\S+)", "{kind}")),
    "replace_token": ((r"(\S+); sessions revoked", "{kind}; sessions ended"),),
    "set_pin": ((r"PIN (\w+); sessions revoked", "PIN {pin}; sessions ended"),),
    Event.INVITED: (("new", "for a new user"), ("reset", "to replace the token")),
    Event.INVITE_REVOKED: ((_NUMBER, "{n} links revoked"),),
    Event.ENROLLED: ((r"(\S+)", "{kind}"),),
    Event.TOKEN_REPLACED: ((r"(\S+)", "{kind}"),),
}
# Which group of a detail's pattern fills which value, and how.
_NAMES: Final = {
    "failures {n} → 0": ("n",),
    "counter {old} → {new}": ("old", "new"),
    "clock drift {old} → {new} steps": ("old", "new"),
    "{n} new codes; earlier ones no longer work": ("n",),
    "link for {kind}, valid {hours} h": ("kind", "hours"),
    "{n} links revoked": ("n",),
    "{kind}; administrator": ("kind",),
    "{kind}": ("kind",),
    "{kind}; sessions ended": ("kind",),
    "PIN {pin}; sessions ended": ("pin",),
}


class Words:
    """The labels in one language, for templates (``words.token(...)``, ``words.event(line)``)."""

    def __init__(self, lang: str) -> None:
        self._: Callable[..., str] = translator(lang)

    def token(self, token_type: TokenType | str, *, short: bool = False) -> str:
        """``TOTP: a new code every 30 seconds`` (``short``: ``TOTP``).

        Digits and hash are added when they are not the usual 6 and SHA-1.
        """
        try:
            tt = parse_token_type(token_type) if isinstance(token_type, str) else token_type
        except (OTPGateError, ValueError):
            return str(token_type)
        kind = token_kind(tt)
        if short:
            return self._(KINDS[kind])
        parts = [self._(KIND_TEXT[kind], n=tt.step)]
        if tt.digits != 6:
            parts.append(self._(DIGITS, n=tt.digits))
        if tt.algorithm != "SHA1":
            parts.append(tt.algorithm.replace("SHA", "SHA-"))
        return ", ".join(parts)

    def kind(self, kind: str) -> str:
        """A token kind of the user list's filter (``totp``, ``hotp``, ``motp``)."""
        return self._(KINDS[kind]) if kind in KINDS else kind

    def pin(self, kind: str) -> str:
        return self._(PIN_KINDS[kind]) if kind in PIN_KINDS else kind

    def role(self, role: str) -> str:
        return self._(ROLES[role]) if role in ROLES else role

    def via(self, via: str) -> str:
        return self._(VIA[via]) if via in VIA else via

    def expiry(self, key: str) -> str:
        return self._(EXPIRY[key]) if key in EXPIRY else key

    def event(self, line: Mapping[str, Any]) -> list[tuple[str, bool]]:
        """An audit line's event as tags: (text, good); the raw words if unknown."""
        if line.get("kind") == "admin":
            action = str(line.get("action") or "")
            tags = [(self._(ACTIONS[action]) if action in ACTIONS else action, True)]
            result = str(line.get("result") or "ok")
            if result != "ok":
                tags.append((self._(RESULTS[result]) if result in RESULTS else result, False))
            return tags
        reason, result = str(line.get("reason") or ""), str(line.get("result") or "")
        if reason in EVENTS:
            return [(self._(EVENTS[reason]), True)]
        if reason in REASONS:
            return [(self._(REASONS[reason]), result == "accept")]
        return [(f"{result} {reason}".strip(), result == "accept")]

    def detail(self, line: Mapping[str, Any]) -> str:
        """What changed (admin and self-service lines) or the token kind (logins)."""
        detail = str(line.get("detail") or "")
        key = str(line.get("action") if line.get("kind") == "admin" else line.get("reason") or "")
        if key == "set_role":
            old, _, new = detail.partition(" -> ")
            return f"{self.role(old)} → {self.role(new)}" if new else detail
        for pattern, text in _DETAIL_FORMS.get(key, ()):
            m = re.fullmatch(pattern, detail)
            if m is not None:
                values = dict(zip(_NAMES.get(text, ()), m.groups(), strict=False))
                if "kind" in values:
                    values["kind"] = self.token(values["kind"], short=True)
                if "pin" in values:
                    values["pin"] = self.pin(values["pin"])
                return self._(text, **values)
        token = line.get("token")
        if not detail and token and key in REASONS:
            return self.token(str(token), short=True)
        return detail
