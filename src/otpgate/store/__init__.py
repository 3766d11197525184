"""Token stores, selected by URL.

``sqlite:///PATH`` (the default), ``users-file:/PATH`` or a bare path (the
mod_authn_otp users file), ``postgresql://...``, ``memory:`` (tests).
"""

from __future__ import annotations

from .base import Store
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store"]
