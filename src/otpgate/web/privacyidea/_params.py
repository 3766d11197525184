"""The request's parameters, read as privacyIDEA reads them: query, form, multipart or JSON.

privacyIDEA merges the query string with a form body (URL-encoded, or
multipart as PHP's curl sends an array) or a JSON object, and percent-decodes
query and form values once more unless the client's ``User-Agent`` is one of
three plugins that do not encode twice (``check_unquote`` in its
``api/lib/utils.py``); the FreeRADIUS plugin does encode twice.  Every limit
is checked here, before a value reaches the decision.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import urllib.parse
from typing import Any, Final

from starlette.requests import ClientDisconnect, Request

from ..http import PayloadTooLarge, read_body

__all__ = ["MAX_FIELDS", "ParamError", "read_params"]

# More fields than any client sends: refused, not read.
MAX_FIELDS: Final = 64
# Plugins whose values are sent encoded once (privacyIDEA's NO_UNQUOTE_USER_AGENTS).
_NO_UNQUOTE: Final = frozenset({"privacyidea-cp", "privacyidea-ldap-proxy", "simplesamlphp"})
# privacyIDEA's reading of a User-Agent: the plugin's name comes first.
_AGENT: Final = re.compile(r"[a-zA-Z0-9_-]+")
_FORM: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"
_JSON: Final = "application/json"


class ParamError(ValueError):
    """A body that cannot be read; the message says why (it is sent to the client)."""


async def read_params(request: Request, max_body: int) -> dict[str, str]:
    """All parameters as text: the query string's, then the body's (which win).

    Raises:
        ParamError: too large, too many fields, not decodable, a JSON value
            that is not text or a number.
    """
    unquote = _unquotes(request.headers.get("user-agent", ""))
    params = _pairs(urllib.parse.parse_qsl(request.url.query, keep_blank_values=True), unquote)
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";")[0].strip().lower()
    if request.method != "POST" or not media:
        return params
    try:
        body = await read_body(request, max_body)
    except PayloadTooLarge:
        raise ParamError("the body is too large") from None
    except ClientDisconnect:
        raise ParamError("the body was not received") from None
    if media == _FORM:
        params |= _pairs(_form_pairs(body), unquote)
    elif media == _MULTIPART:
        params |= _pairs(_multipart_pairs(ctype, body), unquote)
    elif media == _JSON or body.lstrip()[:1] == b"{":
        params |= _json_object(body)
    return params


def _unquotes(agent: str) -> bool:
    """Whether form and query values are percent-decoded once more (privacyIDEA's rule)."""
    found = _AGENT.match(agent)
    return found is None or found.group().lower() not in _NO_UNQUOTE


def _pairs(pairs: list[tuple[str, str]], unquote: bool) -> dict[str, str]:
    """The first value of each name (as Flask's ``request.values`` gives it), decoded."""
    if len(pairs) > MAX_FIELDS:
        raise ParamError("too many parameters")
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in found:
            found[name] = urllib.parse.unquote(value) if unquote else value
    return found


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
        return urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ParamError("the form is not valid UTF-8 text or has too many fields") from None


def _multipart_pairs(ctype: str, body: bytes) -> list[tuple[str, str]]:
    """The text fields of a ``multipart/form-data`` body (files are not expected)."""
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ParamError("the multipart body has no parts")
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise ParamError("a multipart field has no name or no value")
        try:
            pairs.append((name, payload.decode("utf-8")))
        except UnicodeDecodeError:
            raise ParamError("a multipart field is not UTF-8 text") from None
        if len(pairs) > MAX_FIELDS:
            raise ParamError("too many parameters")
    return pairs


def _json_object(body: bytes) -> dict[str, str]:
    """A JSON object's fields; numbers are taken as their text (``"pass": 123456``)."""
    try:
        data: Any = json.loads(body)
    except RecursionError:
        raise ParamError("the body is nested too deeply") from None
    except ValueError:
        raise ParamError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ParamError("the body must be a JSON object")
    if len(data) > MAX_FIELDS:
        raise ParamError("too many parameters")
    found: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, str):
            found[name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = str(value)
        elif value is not None:
            raise ParamError(f"parameter {name!r} must be text")
    return found
