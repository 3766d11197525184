"""``otpgate user invite``: single-use links from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import InvitationRefused, SelfService
from otpgate.cli import _secrets, main
from otpgate.login.pins import FAST_TEST_HASHER, PinHasher
from otpgate.otp.tokens import parse_token_type
from otpgate.store import open_store
from otpgate.store.invitations import digest
from otpgate.store.records import Pin, UserRecord


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for var in ("OTPGATE_STORE", "OTPGATE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    db = tmp_path / "otpgate.db"
    config = tmp_path / "otpgate.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n[web]\nportal_url = "https://auth.example.test/"\n'
    )
    assert main(["init", "--store", f"sqlite:///{db}"]) == 0
    store = open_store(f"sqlite:///{db}")
    store.add(UserRecord("erin", parse_token_type("HOTP/T30"), b"k" * 20, Pin("none")))
    store.close()
    return str(config)


def link_of(out: str) -> str:
    last = out.strip().splitlines()[-1]
    assert last.startswith("https://auth.example.test/enrol/"), out
    return last


def service(config: Path) -> SelfService:
    db = config.read_text().split('"')[1]
    return SelfService(open_store(db), policy=PinPolicy(), hasher=PinHasher())


def test_invite_prints_a_working_single_use_link_last(
    setup: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "invite", "dora", "--config", setup, "--expires", "2h"]) == 0
    captured = capsys.readouterr()
    link = link_of(captured.out)
    assert "valid until" in captured.err
    svc = service(Path(setup))
    token = link.rsplit("/", 1)[1]
    inv = svc.open(token, time.time())
    assert inv.username == "dora" and not inv.reset
    assert 7100 < inv.expires - inv.created <= 7200
    # Only the digest is kept.
    assert token not in Path(setup).with_name("otpgate.db").read_bytes().decode("latin-1")
    svc.store.close()


def test_reset_revoke_and_refusals(setup: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "invite", "erin", "--reset", "--config", setup]) == 0
    token = link_of(capsys.readouterr().out).rsplit("/", 1)[1]
    assert main(["user", "invite", "erin", "--revoke", "--config", setup]) == 0
    assert "revoked 1" in capsys.readouterr().err
    svc = service(Path(setup))
    with pytest.raises(InvitationRefused) as exc:
        svc.open(token, time.time())
    assert exc.value.why == "revoked"
    svc.store.close()
    for args, needle in [
        (["erin"], "exists; use --reset"),
        (["nobody", "--reset"], "no user 'nobody'"),
        (["dora", "--expires", "1y"], "not a duration"),
        (["dora", "--type", "MOTP/T10/6"], "Mobile-OTP"),
        (["dora", "--type", "bogus"], "token type"),
        (["bad name"], "user names are"),
    ]:
        try:
            code = main(["user", "invite", *args, "--config", setup])
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code  # type: ignore[assignment]
        assert code == 1
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err


def test_without_a_portal_address_the_link_is_on_the_gates_own(
    setup: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The starter's first start: no proxy, the pages on the address serve listens on.
    bare = tmp_path / "bare.toml"
    bare.write_text(Path(setup).read_text().split("[web]")[0])
    assert main(["user", "invite", "dora", "--config", str(bare)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("http://127.0.0.1:9090/enrol/")
    assert "web.portal_url" in captured.err  # and how to give the public address
    # Listening on every address names no host a link could use.
    anywhere = tmp_path / "anywhere.toml"
    anywhere.write_text(bare.read_text() + '[web]\nlisten = "0.0.0.0:9090"\n')
    assert main(["user", "invite", "erin", "--reset", "--config", str(anywhere)]) == 1
    assert "web.portal_url" in capsys.readouterr().err
    assert main(["user", "invite", "dora", "--config", str(bare), "--url", "/otpgate"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("/otpgate/enrol/") and "path" in captured.err


def test_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["user", "invite", "--help"])
    out = capsys.readouterr().out
    assert "single-use" in out and "--reset" in out and "--revoke" in out and "--expires" in out


def test_a_link_lasts_as_long_as_one_made_in_the_browser(
    setup: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18, item 12: one default (it was 7 days here and 24 hours in /admin/invite)."""
    assert main(["user", "invite", "dora", "--config", setup]) == 0
    token = link_of(capsys.readouterr().out).rsplit("/", 1)[1]
    svc = service(Path(setup))
    inv = svc.open(token, time.time())
    svc.store.close()
    assert inv.expires - inv.created == 86400
    from otpgate.store.invitations import DEFAULT_EXPIRY
    from otpgate.web.admin.actions import EXPIRY, EXPIRY_DEFAULT

    assert DEFAULT_EXPIRY == EXPIRY[EXPIRY_DEFAULT] == 86400


def test_a_reset_link_does_not_survive_remove_and_add(
    setup: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17, 1(a) at the terminal: the link enrolled its holder in place of the new ivy."""
    monkeypatch.setattr(_secrets, "PIN_HASHER", FAST_TEST_HASHER)
    assert main(["user", "add", "ivy", "--no-pin", "--config", setup]) == 0
    assert main(["user", "invite", "ivy", "--reset", "--config", setup]) == 0
    token = link_of(capsys.readouterr().out).rsplit("/", 1)[1]
    assert main(["user", "remove", "ivy", "--config", setup]) == 0
    assert main(["user", "add", "ivy", "--no-pin", "--config", setup]) == 0
    capsys.readouterr()
    svc = service(Path(setup))
    new_ivy = svc.store.get("ivy")
    now = time.time()
    for step in (
        lambda: svc.open(token, now),
        lambda: svc.choose_pin(token, "735191", "735191", now),
    ):
        with pytest.raises(InvitationRefused):
            step()
    inv = svc.store.get_invitation(digest(token))
    assert inv is not None and inv.status == "revoked"
    assert svc.store.get("ivy") == new_ivy
    svc.store.close()
