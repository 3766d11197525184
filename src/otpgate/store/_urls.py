"""Store URLs: which backend and target they name, and how they are shown.

``sqlite:///PATH`` (the default), ``users-file:/PATH`` or a bare path (the
mod_authn_otp users file), ``postgresql://...``, ``memory:`` (tests); see
docs/stores.md.  :func:`parse_store_url` checks a URL and splits it, with
one clear message for each way it can be wrong.

Messages never show a password.  A PostgreSQL URL can carry its password
in the authority (``postgresql://user:pw@host/db``) or as a ``password=``
parameter.  Every message, log line and ``store.url`` that names a store URL
goes through :func:`redact`.  It works on the text alone, so it also covers the URLs that
cannot be parsed (a bad port, an unclosed IPv6 bracket): those are exactly the
ones that end up in error messages.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from ..errors import ConfigError

__all__ = ["default_key_file", "key_file_for", "parse_store_url", "redact"]

# scheme ":" ["//"] userinfo "@" ...: the userinfo runs to the *last* '@', as
# urllib reads it, so a password holding a raw '@' is masked whole.  That may
# mask more than the password in odd URLs, never less.
_USERINFO: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:(?://)?)([^:@]*):(.*)@", re.DOTALL)
# password=... as a URL parameter or a libpq keyword (up to '&', '#' or a space).
_PASSWORD_PARAM: Final = re.compile(r"(?i)(\bpassword\s*=\s*)[^&#\s]*")


def redact(url: str) -> str:
    """The URL with any password (in the authority or a parameter) as ``***``."""
    shown = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", url, count=1)
    return _PASSWORD_PARAM.sub(r"\1***", shown)


_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_FORMS: Final = (
    "sqlite:///PATH (sqlite:////absolute/path), users-file:/PATH or a bare path, "
    "postgresql://USER@HOST/DB, memory:"
)


def _key_file_param(query: str, url: str) -> tuple[str | None, str]:
    """Split ``key_file=`` off a query string; return it and the rest."""
    shown = redact(url)
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"store URL {shown!r}: malformed query string") from None
    key_files = [v for k, v in pairs if k == "key_file"]
    if len(key_files) > 1:
        raise ConfigError(f"store URL {shown!r}: key_file is given more than once")
    if key_files and not key_files[0]:
        raise ConfigError(f"store URL {shown!r}: key_file is empty")
    rest = urllib.parse.urlencode([(k, v) for k, v in pairs if k != "key_file"])
    return (key_files[0] if key_files else None), rest


def _sqlite_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if not rest.startswith("//"):
        raise ConfigError(
            f"store URL {shown!r}: write sqlite:///relative/path or sqlite:////abs/path"
        )
    netloc, slash, path_query = rest[2:].partition("/")
    if netloc or not slash:
        raise ConfigError(
            f"store URL {shown!r}: an SQLite URL has no host; write sqlite:///relative.db "
            "or sqlite:////absolute/path.db"
        )
    path, _, query = path_query.partition("?")
    key_file, leftover = _key_file_param(query, url)
    if leftover:
        raise ConfigError(
            f"store URL {shown!r}: unknown parameters {redact(leftover)!r} (only key_file)"
        )
    if not path:
        raise ConfigError(f"store URL {shown!r} names no database file")
    return "sqlite", urllib.parse.unquote(path), key_file


def _users_file_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    path = rest[2:] if rest.startswith("///") else rest
    if not path:
        raise ConfigError(f"store URL {shown!r} names no users file")
    if "?" in path:
        raise ConfigError(f"store URL {shown!r}: a users file takes no parameters")
    return "users-file", path, None


def _postgres_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if not rest.startswith("//"):
        raise ConfigError(f"store URL {shown!r}: write postgresql://USER@HOST[:PORT]/DBNAME")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket, for one
        raise ConfigError(f"store URL {shown!r}: {exc}") from None
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when asked
    except ValueError:
        raise ConfigError(
            f"store URL {shown!r}: the port is not a number from 0 to 65535"
        ) from None
    if parts.fragment:
        raise ConfigError(f"store URL {shown!r}: unexpected '#' fragment")
    key_file, query = _key_file_param(parts.query, url)
    target = urllib.parse.urlunsplit(parts._replace(query=query))
    return "postgresql", target, key_file


def _memory_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if rest:
        raise ConfigError(f"store URL {shown!r}: memory: takes nothing after the colon")
    return "memory", "", None


# scheme -> (text after "scheme:", the whole URL, the URL as messages show it) -> parts
_KINDS: Final = {
    "sqlite": _sqlite_target,
    "users-file": _users_file_target,
    "postgresql": _postgres_target,
    "postgres": _postgres_target,
    "memory": _memory_target,
}


def parse_store_url(url: str) -> tuple[str, str, str | None]:
    """Split a store URL into (kind, target, key_file from the URL).

    ``kind`` is ``sqlite``, ``users-file``, ``postgresql`` or ``memory``;
    ``target`` is a file path, or for PostgreSQL the connection URL without
    otpgate's own parameters.

    Raises:
        ConfigError: the URL is empty, malformed or of an unknown kind.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"the store URL is empty; expected one of: {_FORMS}")
    shown = redact(url)  # messages name the URL, never its password
    if url != url.strip() or "\x00" in url:
        raise ConfigError(f"store URL {shown!r} has surrounding spaces or a NUL byte")
    m = _SCHEME_RE.match(url)
    if m is None:
        # No scheme: a bare path names a users file, as OTPAuthUsersFile does.
        return "users-file", url, None
    scheme = m.group(1).lower()
    kind = _KINDS.get(scheme)
    if kind is None:
        raise ConfigError(
            f"store URL {shown!r}: unknown kind {scheme + ':'!r}; expected one of: {_FORMS}"
        )
    return kind(url[m.end() :], url, shown)


def default_key_file(url: str) -> str | None:
    """Where ``otpgate init`` puts the key file when none is named.

    ``<database>.key`` next to an SQLite file; ``None`` for stores that need
    no key file (users file, memory) or have no natural place for one
    (PostgreSQL: name it with ``key_file=`` or ``?key_file=``).

    Raises:
        ConfigError: the URL is malformed.
    """
    kind, target, from_url = parse_store_url(url)
    return key_file_for(kind, target, from_url)


def key_file_for(
    kind: str, target: str, from_url: str | None, given: str | None = None
) -> str | None:
    """The key file ``given`` by the caller, else the URL's, else SQLite's ``<database>.key``."""
    return given or from_url or (target + ".key" if kind == "sqlite" else None)
