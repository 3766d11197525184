"""Recent sign-ins read back from the audit log."""

from __future__ import annotations

from pathlib import Path

from otpgate.audit.writer import AuditLog
from otpgate.web.portal.activity import SignIn, recent_signins

T = 1_800_000_000.0


def test_only_fresh_accepted_logins_of_the_user_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(str(path))
    assert log.path == str(path)
    log.write(T, user="dora", ip="192.0.2.1", result="accept", reason="otp", fresh=True)
    log.write(T + 60, user="dora", ip="192.0.2.1", result="accept", reason="linger", fresh=False)
    log.write(T + 120, user="dora", ip="192.0.2.9", result="reject", reason="bad_pin", fresh=False)
    log.write(T + 180, user="erin", ip="192.0.2.2", result="accept", reason="otp", fresh=True)
    log.write(T + 240, user="dora", ip="192.0.2.3", result="accept", reason="recovery", fresh=True)
    log.close()
    with open(path, "a") as f:
        f.write("not json\n[1]\n")
    assert recent_signins(str(path), "dora") == [
        SignIn("2027-01-15 08:04", "192.0.2.3", "recovery code"),
        SignIn("2027-01-15 08:00", "192.0.2.1", "one-time code"),
    ]
    assert recent_signins(str(path), "dora", limit=1)[0].ip == "192.0.2.3"
    assert recent_signins(str(tmp_path / "missing"), "dora") == []


def test_the_enrolment_is_the_newest_line_that_gave_the_user_a_token(tmp_path: Path) -> None:
    from otpgate.web.portal.activity import account_activity

    path = tmp_path / "audit.log"
    log = AuditLog(str(path))
    log.admin(T, actor="root", via="cli", action="add", user="dora", detail="HOTP/T30")
    log.write(T + 60, user="dora", result="accept", reason="enrolled", detail="HOTP/T30")
    log.write(T + 120, user="dora", ip="192.0.2.1", result="accept", reason="otp", fresh=True)
    # Not hers, not a token, or refused: none of these is her enrolment.
    log.write(T + 180, user="erin", result="accept", reason="token_replaced", detail="HOTP/T30")
    log.write(T + 240, user="dora", result="accept", reason="pin_changed")
    log.admin(T + 300, actor="r", via="web", action="resync", user="dora", result="refused")
    log.close()
    found = account_activity(str(path), "dora")
    assert found.enrolled == "2027-01-15 08:01" and len(found.signins) == 1
    assert account_activity(str(path), "erin").enrolled == "2027-01-15 08:03"
    assert account_activity(str(path), "fred").enrolled is None
    # Only the newest lines are read: an enrolment further back is not found.
    assert account_activity(str(path), "dora", max_bytes=200).enrolled is None
    assert account_activity(str(tmp_path / "missing"), "dora").signins == []
