"""The pages people see: sign in and out, enrolment, a lost token, their account."""

from __future__ import annotations

# One module per page (or two close ones), each a class with routes(), all built
# on forms.Forms and, where a PIN and code are typed, browser.BrowserDecisions:
# login.py, logout.py, status.py (/, /demo/, 404), enrol.py, lost.py, account.py.
# Passkeys: passkeys.py (options, sign-in beside the login form, the script),
# account_passkeys.py (registration on the account page), enrol.py (a passkey
# instead of an app).
from .account import AccountPage
from .browser import BrowserDecisions
from .enrol import EnrolPages
from .forms import Forms
from .login import LoginPage
from .logout import LogoutPage
from .lost import LostPage
from .passkeys import PasskeyPages, PasskeyParts
from .status import StatusPages

__all__ = [
    "AccountPage",
    "BrowserDecisions",
    "EnrolPages",
    "Forms",
    "LoginPage",
    "LogoutPage",
    "LostPage",
    "PasskeyPages",
    "PasskeyParts",
    "StatusPages",
]
