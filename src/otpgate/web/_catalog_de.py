"""German texts of the portal (generated stub, filled below)."""

from __future__ import annotations

from typing import Final

DE: Final[dict[str, str]] = {}
