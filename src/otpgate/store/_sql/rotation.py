"""Key rotation in the SQL stores: every OTP key re-encrypted under the newest key.

``otpgate rotate-key`` adds a key to the key file, then rewrites each
ciphertext made with an older one: the users' keys, then the pending keys of
invitations.  A row is rewritten only if its ciphertext is still the one
read, so a concurrent key change (an administrator's replace) is never undone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from ..crypto import KeyRing

__all__ = ["reencrypt", "reencrypt_all"]

# Each table that holds encrypted OTP keys: the statement that reads them, the one
# that rewrites one (users, then the pending keys of invitations).
_KEYED_TABLES: Final = (("keys", "rekey"), ("inv_keys", "inv_rekey"))


def reencrypt(
    keys: KeyRing, rows: Iterable[Sequence[Any]], rekey: Callable[[dict[str, Any]], int]
) -> int:
    """Re-encrypt every (username, key blob) row not made with the newest key.

    ``rekey`` runs the ``rekey`` statement and returns the rows it changed:
    0 when a concurrent key change (admin replace) already wrote a new blob.
    """
    done = 0
    for username, raw in rows:
        blob = bytes(raw)
        if keys.key_id_of(blob) == keys.newest_id:
            continue
        new = keys.encrypt(keys.decrypt(blob, username), username)
        done += rekey({"username": username, "old_key": blob, "new_key": new})
    return done


def reencrypt_all(
    keys: KeyRing,
    read: Callable[[str], Iterable[Sequence[Any]]],
    write: Callable[[str, dict[str, Any]], int],
) -> int:
    """Re-encrypt the OTP keys of every table that holds them (see :func:`reencrypt`).

    ``read(name)`` runs the statement ``SQL[name]`` and returns its rows;
    ``write(name, params)`` runs ``SQL[name]`` and returns the rows it changed.
    """
    done = 0
    for select, update in _KEYED_TABLES:
        done += reencrypt(keys, read(select), functools.partial(write, update))
    return done
