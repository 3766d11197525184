"""The JSON APIs for applications that check logins themselves, their keys and OpenAPI document."""

from __future__ import annotations

# One module per API, each a class with routes(): check.py is otpgate's own;
# another protocol's endpoint (privacyIDEA's /validate/check) goes beside it,
# with the same keys (keys.py), JSON handling (_json.py) and Decisions.
from .check import CheckApi
from .keys import ApiKeys
from .openapi import OPENAPI
from .radius import RadiusApi

__all__ = ["OPENAPI", "ApiKeys", "CheckApi", "RadiusApi"]
