"""The texts the portal's code (not its templates) shows: English message ids.

Kept in one place so that each has one wording and the German catalogue can
be checked for completeness (tests/web/test_i18n.py).
"""

from __future__ import annotations

from typing import Final

from ...accounts.pin_policy import PinProblem

# Sign in and out.
WRONG: Final = "Wrong user name, PIN or code."
THROTTLED: Final = "Too many attempts. Try again in {n} s."
UNAVAILABLE: Final = "Signing in is not possible right now. Please try again later."
INCOMPLETE: Final = "Enter your user name, PIN and one-time code."
PASSKEY_WRONG: Final = "The passkey, user name or PIN was not accepted."
PASSKEY_ADDED: Final = "Your passkey has been added."
PASSKEY_NAME: Final = "Give the passkey a name of 1 to 64 characters."
PASSKEY_FAILED: Final = "The passkey could not be added. Please try again."
PASSKEY_ENROLLED: Final = (
    "Your passkey is registered. Sign in with it, with or without your user name and PIN."
)
EXPIRED_FORM: Final = "The form had expired. Please sign in again."
EXPIRED_FORM_RETRY: Final = "The form had expired. Please try again."
BAD_REQUEST: Final = "Bad request"
BAD_ENCODING: Final = "Unsupported form encoding."
TOO_LARGE: Final = "The form is too large."
UNREADABLE: Final = "The form could not be read."
NOT_SIGNED_OUT: Final = "Not signed out"
SIGNED_OUT: Final = "Signed out"
SIGNED_OUT_TEXT: Final = "You have signed out."
SIGN_IN_AGAIN: Final = "Sign in again"
NOT_FOUND: Final = "Page not found"
NOT_FOUND_TEXT: Final = "There is no page at this address."

# Enrolment and recovery.
LINK_REFUSED: Final = "This link cannot be used"
LINK_WHY: Final = {
    "unknown": "The link is not valid. Check that it was copied completely.",
    "used": "The link has already been used. Each link works once.",
    "revoked": "The link was withdrawn. Ask your administrator for a new one.",
    "expired": "The link has expired. Ask your administrator for a new one.",
    "exists": "This user already exists. Ask your administrator for a new link.",
    "changed": (
        "The token this link was to replace has been replaced or removed since. "
        "Ask your administrator for a new link."
    ),
}
ASK_ADMIN: Final = "Ask your administrator for a new link."
WRONG_NEW_CODE: Final = (
    "That code does not match the new token. Check the app shows this account and type "
    "the code it shows now."
)
ENROLLED: Final = "Your token is active. Sign in with your PIN and a code from the app."
CONTINUE_SIGN_IN: Final = "Continue to sign in"
QR_LABEL: Final = "QR code of the new token"
NOT_RECOVERED: Final = "Wrong user name, PIN or recovery code."
APP_WORKS: Final = "Your token still works"
APP_WORKS_TEXT: Final = (
    "That was a current code of your token, so it is not lost and nothing was changed. "
    "Sign in with your PIN and the next code it shows."
)

# The account page.
PIN_CHANGED: Final = "Your PIN has been changed."
CODES_RENEWED: Final = "New recovery codes. The earlier ones no longer work."
BACK_TO_ACCOUNT: Final = "Back to your account"
WRONG_PIN_OR_CODE: Final = "Wrong PIN or code. Use a code you have not used yet."
UNKNOWN_ACTION: Final = "Unknown request."
AUTH_ADDED: Final = "The new app has been added. A code from it signs you in from now on."
AUTH_RENAMED: Final = "The name has been changed."
AUTH_REMOVED: Final = "The authenticator has been removed; it no longer signs you in."
AUTH_LAST: Final = "This is your only authenticator: add another one before you remove it."
AUTH_UNKNOWN: Final = "There is no such authenticator (any more)."
AUTH_BAD_NAME: Final = "Give it a name of 1 to 64 characters, without control characters."
AUTH_CANNOT_ADD: Final = "This gate keeps one token per user; ask your administrator."
APP_PENDING_WRONG: Final = (
    "That is not a current code of the new app. Enter the code the app shows now."
)
APP_PENDING_GONE: Final = (
    "The new app's key is no longer valid (it expired, was used, or had too many wrong codes). "
    "Add the app again."
)

PIN_PROBLEMS: Final = {
    PinProblem.TOO_SHORT: "The PIN is too short: use at least {n} characters.",
    PinProblem.TOO_LONG: "The PIN is too long: use at most 64 characters.",
    PinProblem.REPEATED: "The PIN is one character repeated; choose a less obvious one.",
    PinProblem.SEQUENCE: "The PIN is a run such as 123456; choose a less obvious one.",
    PinProblem.USER_NAME: "The PIN must not contain your user name.",
    PinProblem.COMMON: (
        "This PIN is among the most commonly used PINs and passwords, which attackers try first; "
        "choose another."
    ),
    PinProblem.CONTROL: "The PIN must not begin or end with spaces or contain control characters.",
    PinProblem.MISMATCH: "The two PINs differ.",
}

# "How" column of recent sign-ins (web.activity).
HOW: Final = ("one-time code", "recovery code", "passkey")

ALL: Final = (
    WRONG, THROTTLED, UNAVAILABLE, INCOMPLETE, EXPIRED_FORM, EXPIRED_FORM_RETRY, BAD_REQUEST,
    BAD_ENCODING, TOO_LARGE, UNREADABLE, NOT_SIGNED_OUT, SIGNED_OUT, SIGNED_OUT_TEXT,
    SIGN_IN_AGAIN, LINK_REFUSED, *LINK_WHY.values(), ASK_ADMIN, WRONG_NEW_CODE, ENROLLED,
    CONTINUE_SIGN_IN, QR_LABEL, NOT_RECOVERED, APP_WORKS, APP_WORKS_TEXT, PIN_CHANGED,
    CODES_RENEWED, BACK_TO_ACCOUNT, WRONG_PIN_OR_CODE, UNKNOWN_ACTION, *PIN_PROBLEMS.values(),
    AUTH_ADDED, AUTH_RENAMED, AUTH_REMOVED, AUTH_LAST, AUTH_UNKNOWN, AUTH_BAD_NAME,
    AUTH_CANNOT_ADD, APP_PENDING_WRONG, APP_PENDING_GONE,
    *HOW, NOT_FOUND, NOT_FOUND_TEXT, PASSKEY_WRONG, PASSKEY_ADDED, PASSKEY_NAME, PASSKEY_FAILED,
    PASSKEY_ENROLLED,
)  # fmt: skip
