"""HTTP front ends: forward auth, the login portal, the JSON API, health and metrics."""

from __future__ import annotations

from .app import create_app
from .gate import Gate

__all__ = ["Gate", "create_app"]
