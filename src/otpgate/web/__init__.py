"""HTTP front ends: forward auth, the login portal, self-service, the JSON API, admin, ops."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
