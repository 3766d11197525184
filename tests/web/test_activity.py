"""Recent sign-ins read back from the audit log."""

from __future__ import annotations

from pathlib import Path

from otpgate.audit import AuditLog
from otpgate.web.activity import SignIn, recent_signins

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
