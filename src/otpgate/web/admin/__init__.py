"""Administration in the browser: the user list and page, invitations, the audit view, status."""

from __future__ import annotations

from .base import AdminBase, Ctx
from .pages import AdminPages

__all__ = ["AdminBase", "AdminPages", "Ctx"]
