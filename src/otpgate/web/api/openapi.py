"""The OpenAPI document for the JSON API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Final

from ..._limits import MAX_PASSWORD, MAX_USER

__all__ = ["OPENAPI"]

_ERROR: Final = {
    "type": "object",
    "properties": {"ok": {"const": False}, "error": {"type": "string"}},
    "required": ["ok"],
}

OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "otpgate",
        "version": "1",
        "description": (
            "Check a user's PIN + one-time password. The answer never says which factor failed."
        ),
    },
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
    },
    "security": [{"apiKey": []}, {"bearer": []}],
    "paths": {
        "/api/v1/check": {
            "post": {
                "summary": "Check a user's PIN followed by the one-time password",
                "operationId": "check",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "user": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": MAX_USER,
                                    },
                                    "password": {
                                        "type": "string",
                                        "maxLength": MAX_PASSWORD,
                                        "description": "PIN immediately followed by the OTP",
                                    },
                                    "ip": {
                                        "type": "string",
                                        "description": "the end user's address (for "
                                        "linger and IP-change rules); default: the caller's",
                                    },
                                },
                                "required": ["user", "password"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "accepted",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "ok": {"const": True},
                                        "user": {"type": "string"},
                                    },
                                    "required": ["ok", "user"],
                                }
                            }
                        },
                    },
                    "400": {
                        "description": "malformed request",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "401": {
                        "description": "rejected",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "403": {
                        "description": "missing or invalid API key",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "413": {"description": "body too large"},
                    "415": {"description": "not application/json"},
                    "429": {
                        "description": "too many attempts; retry after the given seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "ok": {"const": False},
                                        "retry_after": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "503": {"description": "the store is unavailable"},
                },
            }
        },
        "/auth": {
            "get": {
                "summary": "Forward auth (nginx auth_request, Traefik, Caddy)",
                "security": [],
                "parameters": [
                    {
                        "name": "redirect",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["302", "303", "307", "401", "off"]},
                        "description": "how browsers without credentials go to the login page",
                    }
                ],
                "responses": {
                    "200": {"description": "allowed; the Remote-User header names the user"},
                    "302": {"description": "browser: go to the login page (Location)"},
                    "401": {"description": "denied (WWW-Authenticate, or Location for nginx)"},
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Store reachable",
                "security": [],
                "responses": {
                    "200": {"description": "ok"},
                    "503": {"description": "store unreachable"},
                },
            }
        },
    },
}
