"""German texts of the admin pages, keyed by the English message ids.

Texts the portal already has (``PIN``, ``Sign out``, ...) come from its
catalogue; tests/web/test_admin_i18n.py fails when an admin text has neither.
"""

from __future__ import annotations

from typing import Final

ADMIN_DE: Final[dict[str, str]] = {
    "Actions": "Aktionen",
    "Administration": "Verwaltung",
    "Administrative actions": "Verwaltungsaktionen",
    "All audit lines of this user": "Alle Protokollzeilen dieses Benutzers",
    "All users": "Alle Benutzer",
    "Any": "Alle",
    "Ask the user for two codes their token shows one after the other.": "Lassen Sie sich "
    "vom Benutzer zwei Codes nennen, die sein Token nacheinander anzeigt.",
    "Authenticator apps on phones use TOTP; HOTP suits tokens with a button.": "Authenticator-"
    "Apps auf Telefonen nutzen TOTP; HOTP passt zu Tokens mit einer Taste.",
    "Audit log": "Protokoll",
    "Back to the start": "Zur Startseite",
    "Back to the user": "Zurück zum Benutzer",
    "Back to the users": "Zurück zu den Benutzern",
    "Bad search.": "Ungültige Suche.",
    "By": "Ausgeführt von",
    "Change role": "Rolle ändern",
    "Change the role": "Rolle ändern",
    "Change your own account at the terminal (otpgate user ...).": "Ihr eigenes Konto ändern "
    "Sie im Terminal (otpgate user ...).",
    "Check the filters.": "Prüfen Sie die Filter.",
    "Check the form.": "Prüfen Sie das Formular.",
    "Confirm it is you": "Bestätigen Sie, dass Sie es sind",
    "Details": "Einzelheiten",
    "Enrolment link for {user}": "Registrierungslink für {user}",
    "Enter your PIN and a new one-time code.": "Geben Sie Ihre PIN und einen neuen Einmalcode ein.",
    "Event": "Ereignis",
    "Failure limit": "Fehlversuchsgrenze",
    "Failures": "Fehlversuche",
    "First code": "Erster Code",
    "First page": "Erste Seite",
    "From": "Von",
    "Invite a user": "Benutzer einladen",
    "Invited users": "Eingeladene Benutzer",
    "Invited, not enrolled": "Eingeladen, nicht registriert",
    "Last sign-in": "Letzte Anmeldung",
    "Lock": "Sperren",
    "Locked": "Gesperrt",
    "Locked. Their sessions have ended.": "Gesperrt. Seine Sitzungen sind beendet.",
    "Make the link": "Link erstellen",
    "Name starts with": "Name beginnt mit",
    "Never signed in": "Nie angemeldet",
    "New codes replace all earlier ones. You see them once, to hand to the user.": "Neue "
    "Codes ersetzen alle früheren. Sie sehen sie einmal, um sie dem Benutzer zu geben.",
    "Newest": "Neueste",
    "Newest first. Times are UTC.": "Neueste zuerst. Zeiten in UTC.",
    "Next code": "Nächster Code",
    "Next page": "Nächste Seite",
    "No audit lines for this user yet.": "Noch keine Protokollzeilen für diesen Benutzer.",
    "No audit lines match.": "Keine Protokollzeilen gefunden.",
    "No such user.": "Diesen Benutzer gibt es nicht.",
    "No users match.": "Keine Benutzer gefunden.",
    "Not allowed": "Nicht erlaubt",
    "Older": "Ältere",
    "Open link": "Offener Link",
    "Open links revoked.": "Offene Links widerrufen.",
    "Pages": "Seiten",
    "Recent audit lines": "Letzte Protokollzeilen",
    "Recovery codes for {user}": "Wiederherstellungscodes für {user}",
    "Redis": "Redis",
    "Remove": "Entfernen",
    "Remove the user": "Benutzer entfernen",
    "Reset (new token)": "Zurücksetzen (neues Token)",
    "Reset the token": "Token zurücksetzen",
    "Resync": "Synchronisieren",
    "Resynchronise the token": "Token neu synchronisieren",
    "Revoke open links": "Offene Links widerrufen",
    "Role": "Rolle",
    "Role changed.": "Rolle geändert.",
    "Search": "Suchen",
    "Serial": "Seriennummer",
    "Sessions ended": "Sitzungen beendet",
    "Shown only now. Each works once, typed after the PIN instead of a code; earlier codes no "
    "longer work.": "Nur jetzt sichtbar. Jeder Code gilt einmal, nach der PIN statt eines "
    "Einmalcodes eingegeben; frühere Codes gelten nicht mehr.",
    "Shown only now. Give it to the user over a channel you trust; it works once.": "Nur jetzt "
    "sichtbar. Geben Sie ihn dem Benutzer auf einem vertrauenswürdigen Weg; er gilt einmal.",
    "Sign-ins accepted": "Angenommene Anmeldungen",
    "Sign-ins refused": "Abgelehnte Anmeldungen",
    "Skip to the content": "Zum Inhalt springen",
    "State": "Zustand",
    "Status": "Status",
    "Store": "Speicher",
    "Store and state": "Speicher und Zustand",
    "That code was used already. Wait for the next one.": "Dieser Code wurde schon benutzt. "
    "Warten Sie auf den nächsten.",
    "The directory has no user of that name.": "Im Verzeichnis gibt es keinen Benutzer dieses "
    "Namens.",
    "That user exists already. To give them a new token, use Reset on their page.": "Diesen "
    "Benutzer gibt es schon. Für ein neues Token nutzen Sie Zurücksetzen auf seiner Seite.",
    "The audit log is not written to a file (auth.audit_log).": "Das Protokoll wird nicht in "
    "eine Datei geschrieben (auth.audit_log).",
    "The link is valid for": "Der Link gilt",
    "The new user gets a single-use link to choose a PIN and enrol a token.": "Der neue "
    "Benutzer erhält einen einmal gültigen Link, um eine PIN zu wählen und ein Token zu "
    "registrieren.",
    "The search stopped after reading part of the log; older lines may match.": "Die Suche "
    "hat nach einem Teil des Protokolls angehalten; ältere Zeilen können passen.",
    "The store answers.": "Der Speicher antwortet.",
    "The store cannot be read right now.": "Der Speicher kann gerade nicht gelesen werden.",
    "The store cannot be written right now. Nothing was changed.": "Der Speicher kann gerade "
    "nicht geschrieben werden. Nichts wurde geändert.",
    "The store does not answer.": "Der Speicher antwortet nicht.",
    "The user gets a link to enrol a new token, keeping their PIN or choosing a new one. Their "
    "current token works until they do.": "Der Benutzer erhält einen Link, um ein neues Token "
    "zu registrieren; seine PIN behält er oder wählt eine neue. Sein bisheriges Token gilt bis "
    "dahin.",
    "The user, their token and recovery codes are deleted. This cannot be undone.": "Der "
    "Benutzer, sein Token und seine Wiederherstellungscodes werden gelöscht. Das lässt sich "
    "nicht rückgängig machen.",
    "Their current token works until they use the link.": "Sein bisheriges Token gilt, bis "
    "er den Link benutzt.",
    "These pages are for administrators.": "Diese Seiten sind für Administratoren.",
    "This form came from another site.": "Dieses Formular kam von einer anderen Website.",
    "Those are not two consecutive codes of this token.": "Das sind nicht zwei aufeinander "
    "folgende Codes dieses Tokens.",
    "Throttled now": "Gerade gebremst",
    "Throttling and lingering logins": "Bremse und fortbestehende Anmeldungen",
    "Time (UTC)": "Zeit (UTC)",
    "Token": "Token",
    "Token resynchronised.": "Token neu synchronisiert.",
    "Too many attempts. Wait a little and try again.": "Zu viele Versuche. Warten Sie kurz "
    "und versuchen Sie es erneut.",
    "Unlock": "Entsperren",
    "Unlocked.": "Entsperrt.",
    "Until": "Bis",
    "User": "Benutzer",
    "User names are 1 to 128 characters: letters, digits and . _ @ + -": "Benutzernamen "
    "haben 1 bis 128 Zeichen: Buchstaben, Ziffern und . _ @ + -",
    "User removed.": "Benutzer entfernt.",
    "Users": "Benutzer",
    "Users by state": "Benutzer nach Zustand",
    "Users in name order; {n} on this page.": "Benutzer nach Namen geordnet; {n} auf dieser Seite.",
    "Wrong PIN or code.": "Falsche PIN oder falscher Code.",
    "Your PIN": "Ihre PIN",
    "Your PIN and a new one-time code (not the one you signed in with).": "Ihre PIN und ein "
    "neuer Einmalcode (nicht der, mit dem Sie sich angemeldet haben).",
    "Your one-time code": "Ihr Einmalcode",
    "active": "aktiv",
    "invited until {t}": "eingeladen bis {t}",
    "locked": "gesperrt",
    "never": "nie",
    "not written to a file": "nicht in eine Datei",
    "off": "aus",
    "this process only": "nur dieser Prozess",
    "throttled until {t}": "gebremst bis {t}",
    "valid until {t}": "gültig bis {t}",
    # Several authenticators (issue 20).
    "Authenticators": "Authenticatoren",
    "Added": "Hinzugefügt",
    "Last used": "Zuletzt benutzt",
    "Remove an authenticator": "Authenticator entfernen",
    "Authenticator": "Authenticator",
    "Its codes stop working at once, on every gate. The user's last authenticator cannot be "
    "removed.": "Seine Codes gelten sofort nicht mehr, an jedem Gate. Den letzten "
    "Authenticator eines Benutzers kann man nicht entfernen.",
    "That is the user's only authenticator: it cannot be removed.": "Das ist der einzige "
    "Authenticator des Benutzers: er kann nicht entfernt werden.",
    "Authenticator removed. It no longer signs in.": "Authenticator entfernt. Damit ist keine "
    "Anmeldung mehr möglich.",
}
