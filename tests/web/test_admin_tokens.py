"""``/admin``: a user's authenticators listed, one removed after a step-up, never the last."""

from __future__ import annotations

from pathlib import Path

import pytest

from otpgate.otp.tokens import parse_token_type
from otpgate.store.authenticators import OtpToken, TokenMeta

from .test_admin import Admin

SPARE_KEY = bytes(range(40, 60))


@pytest.fixture
def adm(tmp_path: Path) -> Admin:
    return Admin(tmp_path)


def _spare(adm: Admin) -> str:
    token = OtpToken(
        parse_token_type("HOTP/E"), SPARE_KEY, TokenMeta(name="Schrank"), serial="YK-7"
    )
    return adm.store.add_token("alice", token).meta.id


def test_the_user_page_lists_the_authenticators(adm: Admin) -> None:
    spare = _spare(adm)
    adm.sign_in()
    page = adm.client.get("/admin/users/alice")
    assert page.status_code == 200 and "Authenticators" in page.text
    assert ">Schrank</td>" in page.text and ">YK-7</td>" in page.text
    assert f"remove-token?token={spare}" in page.text
    assert SPARE_KEY.hex() not in page.text
    german = adm.client.get("/admin/users/alice", headers={"Accept-Language": "de"}).text
    assert "Authenticatoren" in german


def test_removing_one_needs_a_step_up(adm: Admin) -> None:
    spare = _spare(adm)
    adm.sign_in()
    form = adm.client.get(f"/admin/users/alice/remove-token?token={spare}")
    assert form.status_code == 200 and 'name="pin"' in form.text
    assert f'<option value="{spare}" selected>' in form.text
    r = adm.post("/admin/users/alice/remove-token", token=spare, pin="4321", code="000000")
    assert r.status_code == 403 and len(adm.store.get("alice").tokens()) == 2  # type: ignore[union-attr]
    r = adm.post("/admin/users/alice/remove-token", token=spare, **adm.fresh())
    assert r.status_code == 303 and r.headers["location"].endswith("done=token-removed")
    assert adm.store.get("alice").more == ()  # type: ignore[union-attr]
    [line] = [x for x in adm.admin_lines() if x["action"] == "remove_token"]
    assert line["user"] == "alice" and line["detail"] == spare and line["actor"] == "root"


def test_the_last_one_stays(adm: Admin) -> None:
    adm.sign_in()
    page = adm.client.get("/admin/users/alice")
    assert "remove-token" not in page.text  # one authenticator: no link
    only = adm.store.get("alice").meta.id  # type: ignore[union-attr]
    r = adm.post("/admin/users/alice/remove-token", token=only, **adm.fresh())
    assert r.status_code == 409 and "only authenticator" in r.text
    assert adm.store.get("alice") is not None
