"""The ``[directory]`` settings, and the rules that tie them together.

The table is declared in :mod:`otpgate.config.directory` (each setting's
kind and rule on its field, as every table); what one setting requires of
another (a url needs a base_dn, a bind_dn its password file) is checked by
:func:`problems` when the directory is opened
(:func:`otpgate.login.directory.open_directory`, ``otpgate config check``).
"""

from __future__ import annotations

from ..config.directory import AD_LOGIN_ATTRIBUTES, PINS, DirectorySettings

__all__ = ["AD_LOGIN_ATTRIBUTES", "PINS", "DirectorySettings", "problems"]


def problems(s: DirectorySettings) -> list[str]:
    """What keeps these settings from naming a directory to open; empty when nothing."""
    found = []
    if s.url:
        for name in ("base_dn", "login_attribute", "user_filter"):
            if not getattr(s, name):
                found.append(f"directory.{name} is needed with a url")
        if bool(s.bind_dn) != bool(s.bind_password_file):
            found.append("directory.bind_dn and directory.bind_password_file go together")
    return found
