"""HTTP front ends: forward auth, Basic, the login portal, the JSON API, metrics."""

from __future__ import annotations

from .app import Gate, create_app

__all__ = ["Gate", "create_app"]
