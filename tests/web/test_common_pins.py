"""A common PIN is refused on the pages where a new PIN is chosen (issue 17, item 3).

``password`` used to pass at enrolment (which /lost and an administrator's
invitation end in too) and on the account page.
"""

from __future__ import annotations

import re

import pytest

from otpgate.store.invitations import digest

from .conftest import PIN, App, code, csrf_token
from .test_selfservice_pages import account_post, choose_pin, invite, signed_in

WHY = "This PIN is among the most commonly used PINs and passwords, which attackers try first"
WARUM = "Diese PIN gehört zu den am häufigsten verwendeten PINs und Passwörtern"


@pytest.mark.parametrize("pin", ["password", "Password", "qwerty123", "112233"])
def test_enrolment_refuses_a_common_pin(gate: App, pin: str) -> None:
    token = invite(gate)
    r = choose_pin(gate, token, pin)
    assert r.status_code == 400 and WHY in r.text
    assert 'id="pin-error" class="field-error"' in r.text
    assert re.search(r'<input id="pin"[^>]*aria-invalid="true"', r.text)
    assert gate.store.get_invitation(digest(token)).status == "open"  # type: ignore[union-attr]


def test_the_reason_is_given_in_german(gate: App) -> None:
    token = invite(gate)
    page = gate.client.get(f"/enrol/{token}", headers={"Accept-Language": "de"})
    assert "keine der häufigsten PINs und Passwörter" in page.text  # the field's hint
    r = gate.client.post(
        f"/enrol/{token}",
        data={
            "csrf": csrf_token(page.text),
            "step": "pin",
            "pin": "passwort",
            "pin2": "passwort",
        },
        headers={"Accept-Language": "de"},
    )
    assert r.status_code == 400 and WARUM in r.text


def test_the_account_page_refuses_a_common_pin(gate: App) -> None:
    signed_in(gate)
    r = account_post(
        gate,
        action="pin",
        pin=PIN,
        code=code(gate.clock),
        new_pin="Password1",
        new_pin2="Password1",
    )
    assert r.status_code == 400 and WHY in r.text
    record = gate.store.get("alice")
    assert record is not None and record.pin.value != "Password1"
