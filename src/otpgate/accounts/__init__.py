"""Accounts without HTTP: self-service (invitations, enrolment), administration, the PIN policy."""

from __future__ import annotations

# A user directory (LDAP) is a source of accounts beside the store: it goes
# here (directory.py), and Administration's reading methods (users, invited,
# open_links), which the admin pages list through, join it with the store.
from .administration import Actor, Administration, CannotResync
from .pin_policy import COMMON_PINS, PinPolicy, PinProblem, is_common
from .selfservice import USER_NAME, Event, InvitationRefused, SelfService, WrongCode

__all__ = [
    "COMMON_PINS",
    "USER_NAME",
    "Actor",
    "Administration",
    "CannotResync",
    "Event",
    "InvitationRefused",
    "PinPolicy",
    "PinProblem",
    "SelfService",
    "WrongCode",
    "is_common",
]
