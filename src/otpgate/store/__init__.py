"""Where users, their tokens and state, recovery codes, invitations and roles are kept."""

from __future__ import annotations

from ._open import open_store, rotate_keys
from ._urls import default_key_file, parse_store_url, redact
from .base import (
    AdminStore,
    DirectoryStore,
    InvitationStore,
    KeyRotation,
    LoginStore,
    RecoveryCodeStore,
    SelfServiceStore,
    Store,
    StoreLifecycle,
    UserStore,
)
from .invitations import Invitation
from .memory import MemoryStore
from .query import Role, UserFilter
from .records import Pin, UserRecord, UserState
from .timed import TimedStore

__all__ = [
    "AdminStore",
    "DirectoryStore",
    "Invitation",
    "InvitationStore",
    "KeyRotation",
    "LoginStore",
    "MemoryStore",
    "Pin",
    "RecoveryCodeStore",
    "Role",
    "SelfServiceStore",
    "Store",
    "StoreLifecycle",
    "TimedStore",
    "UserFilter",
    "UserRecord",
    "UserState",
    "UserStore",
    "default_key_file",
    "open_store",
    "parse_store_url",
    "redact",
    "rotate_keys",
]
