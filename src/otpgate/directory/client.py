"""The directory's answers otpgate needs: who a login name is, their groups, a group's members.

A lookup is one search for the user (the login attribute under
``user_filter``), then, when group rules are set, the user's groups found
upwards level by level (``member=`` searches, so nested groups count, on
OpenLDAP and AD alike), and with ``disabled_filter`` one base search on the
entry.  Lookups for a fresh login always ask the server; the admin pages,
roles and the CLI may take an answer from :class:`LookupCache`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

import ldap
import ldap.dn

from ..errors import ConfigError
from .cache import LookupCache
from .entries import Attributes, DirectoryUser, dialect_of, escape_filter, ranged, text
from .pool import Pool, SearchResult
from .settings import DirectorySettings

__all__ = ["Directory", "normal_dn", "read_password_file"]

log = logging.getLogger(__name__)

# Groups inside groups are followed this deep (AD allows cycles: the walk stops).
_MAX_NESTING: Final = 8
_MAX_MEMBERS: Final = 100_000


def normal_dn(dn: str) -> str:
    """A DN in one spelling (case and spaces), for comparing two DNs."""
    try:
        rdns = [[(a.lower(), v.lower(), f) for a, v, f in rdn] for rdn in ldap.dn.str2dn(dn)]
        return str(ldap.dn.dn2str(rdns))
    except ldap.DECODING_ERROR:
        return dn.lower()


class Directory:
    """Looks users up in the directory the settings name.

    Args:
        settings: the ``[directory]`` table.
        pool: the connections (default: opened from the settings and the
            password file).
        clock: for the lookup cache.
    """

    def __init__(
        self,
        settings: DirectorySettings,
        pool: Pool | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.pool = pool if pool is not None else Pool(settings, read_password_file(settings))
        self.dialect = dialect_of(settings)
        # Kept as long as the longer of the two uses may take it (find's max_age).
        keep = max(settings.cache_ttl, settings.session_recheck)
        self.cache: LookupCache[tuple[str, str], DirectoryUser | None] = LookupCache(
            keep, settings.cache_size, clock
        )
        self._attrs = self.dialect.attributes(settings)
        self._everyone: LookupCache[str, list[DirectoryUser]] = LookupCache(
            settings.cache_ttl, 1, clock
        )

    def find(
        self, login: str, *, fresh: bool = True, max_age: float | None = None
    ) -> DirectoryUser | None:
        """The user with this login name, or ``None`` (also for a name found twice).

        ``fresh``: ask the server; else an answer younger than ``max_age``
        (default ``cache_ttl``) may come from the cache.

        Raises:
            DirectoryUnavailable: no server answered.
        """
        key = ("login", login.lower())
        if not fresh:
            age = self.settings.cache_ttl if max_age is None else max_age
            hit, cached = self.cache.get(key, age)
            if hit:
                return cached
        s = self.settings
        one = f"({s.login_attribute}={escape_filter(login)})"
        found = self._search(f"(&{s.user_filter}{one})", limit=2)
        user = self._user(found[0]) if len(found) == 1 else None
        if len(found) > 1:
            log.error(
                "directory: %d entries have %s=%r; refused", len(found), s.login_attribute, login
            )
        self._remember(key, user)
        return user

    def search(self, prefix: str, limit: int = 50) -> list[DirectoryUser]:
        """Users whose login name starts with ``prefix``, by login name.

        Raises:
            DirectoryUnavailable: no server answered.
        """
        s = self.settings
        match = f"({s.login_attribute}={escape_filter(prefix)}*)"
        found = self._search(f"(&{s.user_filter}{match})", limit=limit)
        users = [u for u in (self._user(e, groups=False) for e in found) if u is not None]
        return sorted(users, key=lambda u: u.login)

    def everyone(self) -> list[DirectoryUser]:
        """Every entry the user filter finds (no group rules applied), by login name."""
        found = self._search(self.settings.user_filter, limit=_MAX_MEMBERS)
        users = [u for u in (self._user(e, groups=False) for e in found) if u is not None]
        return sorted(users, key=lambda u: u.login)

    def everyone_cached(self) -> list[DirectoryUser]:
        """:meth:`everyone`, from a list younger than ``cache_ttl`` if there is one."""
        hit, cached = self._everyone.get("all")
        if hit and cached is not None:
            return cached
        users = self.everyone()
        self._everyone.put("all", users)
        return users

    def members(self, group_dn: str) -> list[DirectoryUser]:
        """The users in a group, nested groups followed, by login name (none for no group).

        Raises:
            DirectoryUnavailable: no server answered.
        """
        s = self.settings
        seen: set[str] = set()
        users: dict[str, DirectoryUser] = {}
        todo = [group_dn]
        for _ in range(_MAX_NESTING + 1):
            entries: SearchResult = []
            for dn in todo:
                if normal_dn(dn) not in seen:
                    seen.add(normal_dn(dn))
                    entries += self._base(dn, f"(|(member=*){s.user_filter})", ["member"])
            todo = []
            for dn, attrs in entries:
                inside = self._member_values(dn, attrs)
                todo += inside
                if not inside and normal_dn(dn) != normal_dn(group_dn):
                    user = self._user_at(dn)
                    if user is not None:
                        users[user.id] = user
            if not todo:
                break
        return sorted(users.values(), key=lambda u: u.login)

    def _member_values(self, dn: str, attrs: Attributes) -> list[str]:
        """A group's ``member`` DNs, all of them: AD hands a large group's out in ranges
        (``member;range=0-1499``), each asked for in turn."""
        values, following = ranged(attrs, "member")
        while following is not None and len(values) < _MAX_MEMBERS:
            got = self._base(dn, "(objectClass=*)", [f"member;range={following}-*"])
            if not got:
                break
            more, following = ranged(got[0][1], "member")
            if not more:
                break
            values += more
        return [v.decode("utf-8", "replace") for v in values]

    def check_password(self, user: DirectoryUser, password: str) -> bool:
        """Whether ``password`` is the user's directory password (a bind as the user).

        Raises:
            DirectoryUnavailable: no server answered.
        """
        return self.pool.check_password(user.dn, password)

    def ping(self) -> None:
        """Raise DirectoryUnavailable unless the service account can read the base DN."""
        self.pool.run(
            lambda c: c.search_s(self.settings.base_dn, ldap.SCOPE_BASE, attrlist=["1.1"])
        )

    def close(self) -> None:
        self.pool.close()
        self.cache.clear()

    # -- entries ------------------------------------------------------------------------

    def _search(self, filterstr: str, *, limit: int) -> SearchResult:
        return self.pool.search(self.settings.base_dn, filterstr, self._attrs, limit)

    def _base(self, dn: str, filterstr: str, attrs: list[str]) -> SearchResult:
        def read(conn: Any) -> SearchResult:
            try:
                got = conn.search_s(dn, ldap.SCOPE_BASE, filterstr, attrs)
            except ldap.NO_SUCH_OBJECT:
                return []
            return [(d, a) for d, a in got if d is not None]

        result: SearchResult = self.pool.run(read)
        return result

    def _user_at(self, dn: str) -> DirectoryUser | None:
        found = self._base(dn, self.settings.user_filter, self._attrs)
        return self._user(found[0]) if found else None

    def _user(self, entry: tuple[str, Any], *, groups: bool = True) -> DirectoryUser | None:
        """The entry as a user (``None`` without a readable stable id or login name)."""
        s = self.settings
        dn, attrs = entry
        user_id, login = self.dialect.id_of(attrs), text(attrs, s.login_attribute)
        if user_id is None or not login:
            log.error(
                "directory: %s has no readable %s or %s",
                dn,
                self.dialect.id_attribute,
                s.login_attribute,
            )
            return None
        enabled = not self.dialect.disabled(attrs)
        if enabled and s.disabled_filter:
            enabled = not self._base(dn, s.disabled_filter, ["1.1"])
        member, admin = True, False
        if groups and (s.user_group or s.admin_group):
            mine = self._groups(dn)
            member = s.user_group is None or normal_dn(s.user_group) in mine
            admin = s.admin_group is not None and normal_dn(s.admin_group) in mine
        display, mail = text(attrs, s.display_attribute), text(attrs, s.mail_attribute)
        return DirectoryUser(user_id, login, dn, display, mail, enabled, member, admin)

    def _groups(self, dn: str) -> set[str]:
        """The DNs (normalised) of every group the entry is in, directly or nested."""
        found: set[str] = set()
        level = [dn]
        for _ in range(_MAX_NESTING):
            members = "".join(f"(member={escape_filter(d)})" for d in level)
            entries = self.pool.search(self.settings.base_dn, f"(|{members})", ["1.1"], 0)
            level = [d for d, _ in entries if normal_dn(d) not in found]
            found |= {normal_dn(d) for d in level}
            if not level:
                break
        return found

    def _remember(self, key: tuple[str, str], user: DirectoryUser | None) -> None:
        self.cache.put(key, user)
        if user is not None:
            self.cache.put(("id", user.id), user)
            self.cache.put(("login", user.login.lower()), user)


def read_password_file(settings: DirectorySettings) -> str | None:
    """The service account's password (the file's text less its line end), ``None`` for none.

    Refused as a session secret file is: whoever reads it can look up (and,
    with a writable account, change) the directory's users.

    Raises:
        ConfigError: unreadable, open to others, or empty.
    """
    path = settings.bind_password_file
    if not path:
        return None
    from ..config.secret_files import read_private_text

    where = "directory.bind_password_file"
    password = read_private_text(path, where).rstrip("\r\n")
    if not password:
        raise ConfigError(f"{where}: {path} is empty")
    return password
