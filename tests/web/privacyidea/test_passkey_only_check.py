"""``/validate/check`` for a user with passkeys only (issue 20): a code is refused like a wrong one.

The answer says nothing the answer for a wrong code does not: the same REJECT
body, and the same made-up serial and type a user without a serial gets.
"""

from __future__ import annotations

from typing import Any

from otpgate.store.records import Pin, UserRecord

from ..conftest import make_store
from .conftest import PIN, code


def _body(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    for volatile in ("id", "time", "version"):
        body.pop(volatile, None)
    body.get("detail", {}).pop("threadid", None)
    return body


def test_a_code_for_a_passkey_only_user_is_a_plain_reject(make_pi: Any) -> None:
    store = make_store()
    store.add(UserRecord.passkeys_only("pat", Pin("plain", PIN)))
    pi = make_pi(store=store)
    pats = _body(pi.check(user="pat", **{"pass": PIN + code(pi.clock)}))
    alices = _body(pi.check(user="alice", **{"pass": PIN + "000000"}))
    assert pats["result"]["value"] is False and pats["result"]["authentication"] == "REJECT"
    assert pats == alices
