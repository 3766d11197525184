"""Files that hold secrets (session secrets, API keys), read only if kept private;
the ``[web]`` networks parsed, and fresh secrets."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat

from ..errors import ConfigError

__all__ = [
    "Network",
    "networks",
    "new_secret",
    "read_private_lines",
    "read_private_text",
    "secret_mode_problem",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def secret_mode_problem(mode: int) -> str | None:
    """What is wrong with a file of secrets at this mode, else ``None``.

    Nothing for other users; the group may read (``root:otpgate 0640``, a
    gate and FreeRADIUS sharing a group) but not write: whoever writes a
    session secret or an API key file chooses the secret.  Said as it is:
    0660 is not "accessible to other users".
    """
    bits = stat.S_IMODE(mode)
    if bits & stat.S_IRWXO:
        return (
            f"is mode {bits:04o}: other users may read or change it; chmod 0600 "
            "(or 0640 for the gate's group)"
        )
    if bits & stat.S_IWGRP:
        return (
            f"is mode {bits:04o}: its group may change it, and so choose the secret; "
            "chmod 0640 (reading is all the group needs)"
        )
    return None


def read_private_text(path: str, setting: str) -> str:
    """A file of secrets as text, refused if other users could read or change it.

    Whoever reads a session secret can sign a cookie for any user; whoever
    can write it (or an API key file) picks the secret.  So, like the store's
    key file (:func:`otpgate.store.crypto.load_key_file`), nothing for others and
    no group write; group read stays allowed (``root:otpgate 0640``).

    Raises:
        ConfigError: unreadable, open to others (:func:`secret_mode_problem`), not UTF-8.
    """
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    problem = secret_mode_problem(mode)
    if problem:
        raise ConfigError(f"{setting}: {path} {problem}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{setting}: {path} is not UTF-8 text") from None


def read_private_lines(path: str, setting: str) -> list[str]:
    """The lines of a file of secrets (:func:`read_private_text`), less blanks and ``#`` comments.

    Raises:
        ConfigError: as :func:`read_private_text`.
    """
    text = read_private_text(path, setting)
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def networks(values: tuple[str, ...]) -> list[Network]:
    """The networks a ``[web]`` setting names (its rule, :data:`~otpgate.config.rules.NETWORKS`,
    has made sure each is one)."""
    return [ipaddress.ip_network(v, strict=False) for v in values]


def new_secret() -> str:
    """A fresh session or API secret (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(32)
