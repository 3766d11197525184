"""Words a person reads for every event the gate records, in English and German.

The audit log keeps its stable English words (``reject``, ``no_match``,
``failures 3 -> 0``); the pages show labels (otpgate.web.labels).  These tests
enumerate what can be written (every Reason, every Event, every action the
code names) and fail when one has no label, or its German is missing; and
they run the real writers, so a changed detail format cannot slip by as raw
English on a German page.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest

import otpgate
from clitools import Runner
from otpgate.accounts.administration import Actor, Administration, CannotResync
from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import Event, SelfService
from otpgate.audit.writer import AuditLog
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.login.reasons import Reason
from otpgate.otp.tokens import parse_token_type
from otpgate.store.memory import MemoryStore
from otpgate.store.query import TOKEN_KINDS
from otpgate.store.records import Pin, UserRecord, UserState
from otpgate.web import labels
from otpgate.web._catalog_de import DE
from otpgate.web._labels_de import LABELS_DE
from otpgate.web.admin import actions
from otpgate.web.admin._catalog_de import ADMIN_DE
from otpgate.web.labels import Words

SRC = Path(otpgate.__file__).parent
T = 1_800_000_000.0
TOTP = parse_token_type("HOTP/T30")
# Where the code names an admin action: Administration.record(actor, "x", ...),
# the commands' audit_admin(args, "x", ...) and roles.record(args, "x", ...).
_ACTION = re.compile(r'(?:self\.record\(\s*actor|audit_admin\(\s*args|record\(args),\s*"(\w+)"')


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def written_actions() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        found |= set(_ACTION.findall(path.read_text()))
    # Administration.invite writes "reset" or "invite" from one call.
    return found | {"invite", "reset"}


def test_every_reason_event_and_action_has_a_label() -> None:
    assert set(labels.REASONS) == set(Reason)
    assert set(labels.EVENTS) == set(Event)
    acts = written_actions()
    assert {"lock", "unlock", "add", "set_pin", "set_role", "revoke_invitations"} <= acts
    assert sorted(acts - labels.ACTIONS.keys()) == []
    assert set(labels.KINDS) == set(labels.KIND_TEXT) == set(TOKEN_KINDS)
    assert set(labels.PIN_KINDS) == {"none", "delegated", "plain", "hash"}
    assert set(labels.EXPIRY) == set(actions.EXPIRY)


def test_every_label_has_one_german_translation_with_the_same_placeholders() -> None:
    ids = set(labels.ALL)
    assert len(ids) > 60
    missing = sorted(i for i in ids if i not in LABELS_DE and i not in DE)
    assert missing == []
    for english in ids:
        assert fields(LABELS_DE.get(english) or DE[english]) == fields(english), english
    assert sorted(LABELS_DE.keys() - ids) == []  # nothing stale
    # One translation per text: not also in the portal's or the admin catalogue.
    assert sorted(LABELS_DE.keys() & (DE.keys() | ADMIN_DE.keys())) == []
    # The detail patterns speak only in labels.
    forms = {text for pairs in labels._DETAIL_FORMS.values() for _, text in pairs}
    assert sorted(forms - ids - {"{kind}"}) == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_words_of_lines_and_tokens(lang: str) -> None:
    w = Words(lang)
    de = lang == "de"
    assert w.token("HOTP/T30") == (
        "TOTP: alle 30 Sekunden ein neuer Code" if de else "TOTP: a new code every 30 seconds"
    )
    assert w.token(parse_token_type("HOTP-SHA256/T60/8")).endswith(
        "8 Stellen, SHA-256" if de else "8 digits, SHA-256"
    )
    assert w.token("HOTP/E", short=True) == "HOTP" and w.token("MOTP", short=True) == "Mobile-OTP"
    assert w.token("nonsense") == "nonsense"
    refused = w.event({"result": "reject", "reason": "no_match"})
    assert refused == [("Abgelehnt: falscher Code" if de else "Refused: wrong code", False)]
    invited = w.event({"result": "accept", "reason": "invited", "detail": "new"})
    assert invited == [("Registrierungslink erstellt" if de else "Enrolment link made", True)]
    failed = w.event({"kind": "admin", "action": "resync", "result": "refused"})
    assert failed[1] == ("abgelehnt" if de else "refused", False)
    # Unknown words are shown as they are, never dropped.
    assert w.event({"kind": "admin", "action": "frobnicate", "result": "ok"}) == [
        ("frobnicate", True)
    ]
    assert w.detail({"kind": "admin", "action": "unlock", "detail": "odd"}) == "odd"
    login = {"result": "accept", "reason": "otp", "token": "HOTP/T30"}
    assert w.detail(login) == "TOTP"
    role = {"kind": "admin", "action": "set_role", "detail": "user -> admin"}
    assert w.detail(role) == ("Benutzer → Administrator" if de else "user → administrator")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _translated(lines: list[dict[str, Any]]) -> list[str]:
    """The German detail of every line that has one; none may be the raw English."""
    w = Words("de")
    out = []
    for line in lines:
        if not line.get("detail"):
            continue
        shown = w.detail(line)
        assert shown != line["detail"] and "->" not in shown, line
        out.append(shown)
    return out


def test_what_the_administration_and_self_service_write_reads_as_words(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    audit = AuditLog(str(path))
    store = MemoryStore()
    store.add(UserRecord("carol", TOTP, b"k" * 20, Pin("plain", "1234"), UserState(failures=3)))
    store.add(UserRecord("hank", parse_token_type("HOTP/E"), b"k" * 20, Pin("plain", "1234")))
    service = SelfService(
        store, policy=PinPolicy(), hasher=FAST_TEST_HASHER, audit=audit, issuer="x"
    )
    adm = Administration(store, audit, service)
    root = Actor("root", "web", "192.0.2.1")
    adm.lock(root, "carol", T)
    adm.unlock(root, "carol", T)
    with pytest.raises(CannotResync):
        adm.resync(root, "hank", "000000", "000000", T)
    adm.recovery_codes(root, "carol", T)
    adm.set_role(root, "carol", "admin", T)
    adm.invite(root, "dora", TOTP, expires_in=86400, reset=False, now=T)
    adm.invite(root, "carol", TOTP, expires_in=1800, reset=True, now=T)
    adm.revoke_invitations(root, "dora", T)
    adm.remove(root, "hank", T)
    service.renew_codes("carol", T)
    audit.close()
    shown = _translated(_lines(path))
    assert "Fehlversuche 3 → 0" in shown and "Benutzer → Administrator" in shown
    assert "Link für TOTP, gültig 24 h" in shown and "Link für TOTP, gültig 0.5 h" in shown
    assert "für einen neuen Benutzer" in shown and "1 Links widerrufen" in shown
    words = [t for line in _lines(path) for t, _ in Words("de").event(line)]
    assert "Registrierungslink erstellt" in words and "Eingeladen" in words
    assert not any("_" in t for t in words)  # no raw word such as recovery_codes


def test_what_the_commands_write_reads_as_words(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = tmp_path / "audit.log"
    db = f"sqlite:///{tmp_path}/otpgate.db"
    conf = tmp_path / "otpgate.toml"
    conf.write_text(f'[store]\nurl = "{db}"\n[auth]\naudit_log = "{audit}"\n')
    monkeypatch.setenv("OTPGATE_CONFIG", str(conf))
    assert run("init").code == 0
    steps: list[tuple[tuple[str, ...], str]] = [
        (("user", "add", "eve", "--pin-stdin", "--admin"), "4711\n"),
        (("user", "add", "hal", "--pin-stdin", "--type", "HOTP/E"), "4711\n"),
        (("user", "set-pin", "eve", "--pin-stdin"), "5822\n"),
        (("user", "replace-token", "eve"), ""),
        (("user", "lock", "eve"), ""),
        (("user", "unlock", "eve"), ""),
        (("user", "recovery-codes", "eve", "-n", "3"), ""),
        (("user", "set-role", "eve", "user"), ""),
        (("user", "resync", "hal", "000000", "000000"), ""),
        (("user", "remove", "hal"), ""),
    ]
    for argv, stdin in steps:
        run(*argv, stdin=stdin)
    lines = _lines(audit)
    assert {x["action"] for x in lines} == {
        "add", "set_pin", "replace_token", "lock", "unlock", "recovery_codes", "set_role",
        "resync", "remove",
    }  # fmt: skip
    shown = _translated(lines)
    assert "TOTP; Administrator" in shown and "HOTP" in shown
    assert "PIN als Hash gespeichert; Sitzungen beendet" in shown
    assert "TOTP; Sitzungen beendet" in shown and "Sitzungen beendet" in shown
    assert "3 neue Codes; frühere gelten nicht mehr" in shown
    assert "die beiden Codes folgen nicht aufeinander" in shown
