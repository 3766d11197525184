"""German labels of :mod:`otpgate.web.labels`, keyed by the English message ids.

tests/web/test_labels.py fails when a label has no entry here, an entry's
``{placeholders}`` differ from the English ones, or an entry is stale.
"""

from __future__ import annotations

from typing import Final

LABELS_DE: Final[dict[str, str]] = {
    # Login reasons.
    "Signed in: PIN and one-time code": "Angemeldet: PIN und Einmalcode",
    "Signed in: the same code again, within the linger time": "Angemeldet: derselbe Code "
    "noch einmal, innerhalb der Nachwirkzeit",
    "Signed in: PIN and recovery code": "Angemeldet: PIN und Wiederherstellungscode",
    "Signed in: session cookie": "Angemeldet: Sitzungscookie",
    "Refused: wrong PIN (the code was right and is used up)": "Abgelehnt: falsche PIN (der "
    "Code stimmte und ist verbraucht)",
    "Refused: wrong code": "Abgelehnt: falscher Code",
    "Refused: a code used before": "Abgelehnt: ein schon benutzter Code",
    "Refused: not a PIN and code of this token": "Abgelehnt: keine PIN mit Code dieses Tokens",
    "Refused unchecked: too many failures": "Ungeprüft abgelehnt: zu viele Fehlversuche",
    "Refused: the user is locked": "Abgelehnt: der Benutzer ist gesperrt",
    "Refused: no such user": "Abgelehnt: diesen Benutzer gibt es nicht",
    "Refused: the store did not answer": "Abgelehnt: der Speicher hat nicht geantwortet",
    "Signed in: passkey": "Angemeldet: Passkey",
    "Refused: not a valid passkey answer": "Abgelehnt: keine gültige Passkey-Antwort",
    "Refused: a cloned passkey (its counter went back)": "Abgelehnt: ein kopierter Passkey "
    "(sein Zähler ging zurück)",
    # Self-service events.
    "Enrolment link made": "Registrierungslink erstellt",
    "Enrolment links revoked": "Registrierungslinks widerrufen",
    "Token enrolled": "Token registriert",
    "Token replaced": "Token ersetzt",
    "PIN changed": "PIN geändert",
    "New recovery codes": "Neue Wiederherstellungscodes",
    "Session started": "Sitzung begonnen",
    # Administrative actions and their results.
    "User added": "Benutzer angelegt",
    "User removed": "Benutzer entfernt",
    "PIN set": "PIN gesetzt",
    "Token resynchronised": "Token neu synchronisiert",
    "User locked": "Benutzer gesperrt",
    "User unlocked": "Benutzer entsperrt",
    "Role changed": "Rolle geändert",
    "Invited": "Eingeladen",
    "Reset link made": "Link zum Zurücksetzen erstellt",
    "Open links revoked": "Offene Links widerrufen",
    "refused": "abgelehnt",
    "failed": "fehlgeschlagen",
    # Tokens, PINs, roles, link lifetimes.
    "TOTP": "TOTP",
    "HOTP": "HOTP",
    "Mobile-OTP": "Mobile-OTP",
    "TOTP: a new code every {n} seconds": "TOTP: alle {n} Sekunden ein neuer Code",
    "HOTP: a new code at each press": "HOTP: ein neuer Code bei jedem Tastendruck",
    "Mobile-OTP: a new code every {n} seconds": "Mobile-OTP: alle {n} Sekunden ein neuer Code",
    "{n} digits": "{n} Stellen",
    "no PIN: the code alone": "keine PIN: nur der Code",
    "checked by another service": "von einem anderen Dienst geprüft",
    "kept in plain text (users file)": "im Klartext gespeichert (Benutzerdatei)",
    "kept as a hash": "als Hash gespeichert",
    "administrator": "Administrator",
    "user": "Benutzer",
    "browser": "Browser",
    "terminal": "Terminal",
    "1 hour": "1 Stunde",
    "24 hours": "24 Stunden",
    "3 days": "3 Tage",
    "7 days": "7 Tage",
    # What changed.
    "sessions ended": "Sitzungen beendet",
    "failures {n} → 0": "Fehlversuche {n} → 0",
    "counter {old} → {new}": "Zähler {old} → {new}",
    "clock drift {old} → {new} steps": "Zeitversatz {old} → {new} Schritte",
    "the two codes do not follow each other": "die beiden Codes folgen nicht aufeinander",
    "{n} new codes; earlier ones no longer work": "{n} neue Codes; frühere gelten nicht mehr",
    "link for {kind}, valid {hours} h": "Link für {kind}, gültig {hours} h",
    "{n} links revoked": "{n} Links widerrufen",
    "{kind}; administrator": "{kind}; Administrator",
    "{kind}; sessions ended": "{kind}; Sitzungen beendet",
    "PIN {pin}; sessions ended": "PIN {pin}; Sitzungen beendet",
    "for a new user": "für einen neuen Benutzer",
    "to replace the token": "um das Token zu ersetzen",
}
