"""German texts of the portal, keyed by the English message ids.

tests/web/test_i18n.py fails when a text of a template or of
:mod:`otpgate.web.portal.messages` has no entry here, or an entry's ``{placeholders}``
differ from the English ones.
"""

from __future__ import annotations

from typing import Final

DE: Final[dict[str, str]] = {
    # Templates.
    "Add the token to your app": "Token in der App hinzufügen",
    "Address": "Adresse",
    "An application behind otpgate sees this name in the Remote-User header (nginx, Traefik, "
    "Caddy) or in REMOTE_USER (Apache).": "Eine Anwendung hinter otpgate sieht diesen Namen im "
    "Header Remote-User (nginx, Traefik, Caddy) oder in REMOTE_USER (Apache).",
    "At least {n} characters; not one character repeated, not a run such as 123456, not one of "
    "the most common PINs and passwords, and not your user name.": "Mindestens {n} Zeichen; "
    "nicht ein Zeichen wiederholt, keine Folge wie 123456, keine der häufigsten PINs und "
    "Passwörter und nicht Ihr Benutzername.",
    "Back to sign in": "Zurück zur Anmeldung",
    "Cannot scan? Add the token by hand with this key:": "Scannen geht nicht? Fügen Sie den "
    "Token von Hand mit diesem Schlüssel hinzu:",
    "Change PIN": "PIN ändern",
    "Change your PIN": "PIN ändern",
    "Code from the app": "Code aus der App",
    "Confirm": "Bestätigen",
    "Continue": "Weiter",
    "Continue to the application": "Weiter zur Anwendung",
    "Current PIN": "Aktuelle PIN",
    "Enrolled": "Registriert",
    "Error:": "Fehler:",
    "Hello {user}. You sign in with a PIN you choose and a code from an authenticator app on "
    "your phone. First choose your PIN.": "Hallo {user}. Sie melden sich mit einer selbst "
    "gewählten PIN und einem Code aus einer Authenticator-App auf Ihrem Telefon an. Wählen Sie "
    "zuerst Ihre PIN.",
    "Hello {user}. Keep your PIN or choose a new one, then add a new token to your "
    "authenticator app. Your old token keeps working until you have confirmed the new one.": ""
    "Hallo {user}. Behalten Sie Ihre PIN oder wählen Sie eine neue, und fügen Sie dann einen "
    "neuen Token in Ihrer Authenticator-App hinzu. Ihr alter Token funktioniert, bis Sie den "
    "neuen bestätigt haben.",
    "Hello {user}: you got here with a PIN and a one-time code.": "Hallo {user}: Sie sind mit "
    "PIN und Einmalcode hierher gekommen.",
    "How": "Wie",
    "If you lose your phone, sign in with your PIN and one of these codes in place of the "
    "one-time code; each code works once. Write them down or print them now: they are shown "
    "only this once, and earlier codes no longer work.": "Wenn Sie Ihr Telefon verlieren, "
    "melden Sie sich mit Ihrer PIN und einem dieser Codes statt des Einmalcodes an; jeder Code "
    "gilt einmal. Schreiben Sie sie jetzt auf oder drucken Sie sie aus: Sie werden nur dieses "
    "eine Mal angezeigt, frühere Codes gelten nicht mehr.",
    "Issue new recovery codes": "Neue Wiederherstellungscodes ausstellen",
    "It works": "Es funktioniert",
    "Keep my current PIN": "Meine bisherige PIN behalten",
    "Lost your phone or token?": "Telefon oder Token verloren?",
    "New PIN": "Neue PIN",
    "New PIN again": "Neue PIN wiederholen",
    "New codes replace all earlier ones. Confirm with your PIN and a one-time code.": "Neue "
    "Codes ersetzen alle früheren. Bestätigen Sie mit PIN und Einmalcode.",
    "None recorded yet.": "Noch keine verzeichnet.",
    "Not available: the gate keeps no audit log.": "Nicht verfügbar: das Gate führt kein "
    "Audit-Log.",
    "Not signed in": "Nicht angemeldet",
    "Or choose a new PIN": "Oder wählen Sie eine neue PIN",
    "One of the codes you were given, such as ABCD-EFGH-JKLM-NPQR (dashes and case do not "
    "matter).": "Einer der Codes, die Sie erhalten haben, etwa ABCD-EFGH-JKLM-NPQR "
    "(Bindestriche und Groß-/Kleinschreibung sind egal).",
    "One-time code": "Einmalcode",
    "PIN": "PIN",
    "Recent sign-ins": "Letzte Anmeldungen",
    "Recovery code": "Wiederherstellungscode",
    "Recovery codes": "Wiederherstellungscodes",
    "Recovery codes left: {n}.": "Verbleibende Wiederherstellungscodes: {n}.",
    "Scan this QR code with your authenticator app (for example Aegis, FreeOTP, Google "
    "Authenticator or Microsoft Authenticator).": "Scannen Sie diesen QR-Code mit Ihrer "
    "Authenticator-App (zum Beispiel Aegis, FreeOTP, Google Authenticator oder Microsoft "
    "Authenticator).",
    "Set up your sign-in": "Anmeldung einrichten",
    "Sign in": "Anmelden",
    "Sign out": "Abmelden",
    "Sign out everywhere": "Überall abmelden",
    "Sign out ends the session in this browser. Sign out everywhere ends your sessions in "
    "every browser, this one included.": "Abmelden beendet die Sitzung in diesem Browser. "
    "Überall abmelden beendet Ihre Sitzungen in allen Browsern, auch in diesem.",
    "Signed in": "Angemeldet",
    "Signed in as {user}.": "Angemeldet als {user}.",
    "The code your authenticator app or token shows now. No phone at hand? Type one of your "
    "recovery codes (XXXX-XXXX-XXXX-XXXX) instead; each works once.": "Der Code, den Ihre "
    "Authenticator-App oder Ihr Token gerade zeigt. Kein Telefon zur Hand? Geben Sie "
    "stattdessen einen Ihrer Wiederherstellungscodes ein (XXXX-XXXX-XXXX-XXXX); jeder gilt "
    "einmal.",
    "Type the code the app shows now; this switches the new token on.": "Geben Sie den Code "
    "ein, den die App gerade zeigt; damit wird der neue Token eingeschaltet.",
    "Type": "Art",
    "User name": "Benutzername",
    "When (UTC)": "Wann (UTC)",
    "With your PIN and one of your recovery codes you can set up a new token yourself. The "
    "recovery code is used up, and your old token stops working once the new one is "
    "confirmed.": "Mit Ihrer PIN und einem Ihrer Wiederherstellungscodes können Sie selbst "
    "einen neuen Token einrichten. Der Wiederherstellungscode wird verbraucht, und Ihr alter "
    "Token gilt nicht mehr, sobald der neue bestätigt ist.",
    "You are not signed in.": "Sie sind nicht angemeldet.",
    "Your account": "Ihr Konto",
    "Your recovery codes": "Ihre Wiederherstellungscodes",
    "or open this link on the phone:": "oder öffnen Sie diesen Link auf dem Telefon:",
    "not in the recent audit log": "nicht in den letzten Zeilen des Audit-Logs",
    "{when} UTC": "{when} UTC",
    # otpgate.web.portal.messages.
    "Wrong user name, PIN or code.": "Benutzername, PIN oder Code falsch.",
    "Too many attempts. Try again in {n} s.": "Zu viele Versuche. Versuchen Sie es in {n} s "
    "wieder.",
    "Signing in is not possible right now. Please try again later.": "Anmelden ist gerade "
    "nicht möglich. Bitte versuchen Sie es später wieder.",
    "Enter your user name, PIN and one-time code.": "Geben Sie Benutzername, PIN und "
    "Einmalcode ein.",
    "The form had expired. Please sign in again.": "Das Formular war abgelaufen. Bitte melden "
    "Sie sich erneut an.",
    "The form had expired. Please try again.": "Das Formular war abgelaufen. Bitte versuchen "
    "Sie es erneut.",
    "Bad request": "Fehlerhafte Anfrage",
    "Unsupported form encoding.": "Nicht unterstützte Formularkodierung.",
    "The form is too large.": "Das Formular ist zu groß.",
    "The form could not be read.": "Das Formular konnte nicht gelesen werden.",
    "Not signed out": "Nicht abgemeldet",
    "Signed out": "Abgemeldet",
    "You have signed out.": "Sie haben sich abgemeldet.",
    "Sign in again": "Erneut anmelden",
    "Page not found": "Seite nicht gefunden",
    "There is no page at this address.": "Unter dieser Adresse gibt es keine Seite.",
    "This link cannot be used": "Dieser Link kann nicht verwendet werden",
    "The link is not valid. Check that it was copied completely.": "Der Link ist ungültig. "
    "Prüfen Sie, ob er vollständig kopiert wurde.",
    "The link has already been used. Each link works once.": "Der Link wurde bereits "
    "verwendet. Jeder Link gilt einmal.",
    "The link was withdrawn. Ask your administrator for a new one.": "Der Link wurde "
    "zurückgezogen. Bitten Sie Ihren Administrator um einen neuen.",
    "The link has expired. Ask your administrator for a new one.": "Der Link ist abgelaufen. "
    "Bitten Sie Ihren Administrator um einen neuen.",
    "This user already exists. Ask your administrator for a new link.": "Diesen Benutzer gibt "
    "es schon. Bitten Sie Ihren Administrator um einen neuen Link.",
    "The token this link was to replace has been replaced or removed since. Ask your "
    "administrator for a new link.": "Das Token, das dieser Link ersetzen sollte, wurde "
    "inzwischen ersetzt oder entfernt. Bitten Sie Ihren Administrator um einen neuen Link.",
    "Ask your administrator for a new link.": "Bitten Sie Ihren Administrator um einen neuen Link.",
    "That code does not match the new token. Check the app shows this account and type the "
    "code it shows now.": "Dieser Code passt nicht zum neuen Token. Prüfen Sie, ob die App "
    "dieses Konto zeigt, und geben Sie den aktuellen Code ein.",
    "Your token is active. Sign in with your PIN and a code from the app.": "Ihr Token ist "
    "aktiv. Melden Sie sich mit Ihrer PIN und einem Code aus der App an.",
    "Continue to sign in": "Weiter zur Anmeldung",
    "QR code of the new token": "QR-Code des neuen Tokens",
    "Wrong user name, PIN or recovery code.": "Benutzername, PIN oder Wiederherstellungscode "
    "falsch.",
    "Your token still works": "Ihr Token funktioniert noch",
    "That was a current code of your token, so it is not lost and nothing was changed. Sign in "
    "with your PIN and the next code it shows.": "Das war ein aktueller Code Ihres Tokens: er "
    "ist also nicht verloren, und nichts wurde geändert. Melden Sie sich mit Ihrer PIN und dem "
    "nächsten Code an, den er zeigt.",
    "Your PIN has been changed.": "Ihre PIN wurde geändert.",
    "New recovery codes. The earlier ones no longer work.": "Neue Wiederherstellungscodes. Die "
    "früheren gelten nicht mehr.",
    "Back to your account": "Zurück zu Ihrem Konto",
    "Wrong PIN or code. Use a code you have not used yet.": "PIN oder Code falsch. Verwenden "
    "Sie einen Code, den Sie noch nicht benutzt haben.",
    "Unknown request.": "Unbekannte Anfrage.",
    "The PIN is too short: use at least {n} characters.": "Die PIN ist zu kurz: verwenden Sie "
    "mindestens {n} Zeichen.",
    "The PIN is too long: use at most 64 characters.": "Die PIN ist zu lang: verwenden Sie "
    "höchstens 64 Zeichen.",
    "The PIN is one character repeated; choose a less obvious one.": "Die PIN besteht aus "
    "einem wiederholten Zeichen; wählen Sie eine weniger naheliegende.",
    "The PIN is a run such as 123456; choose a less obvious one.": "Die PIN ist eine Folge "
    "wie 123456; wählen Sie eine weniger naheliegende.",
    "The PIN must not contain your user name.": "Die PIN darf Ihren Benutzernamen nicht enthalten.",
    "This PIN is among the most commonly used PINs and passwords, which attackers try first; "
    "choose another.": "Diese PIN gehört zu den am häufigsten verwendeten PINs und Passwörtern, "
    "die Angreifer zuerst ausprobieren; wählen Sie eine andere.",
    "The PIN must not begin or end with spaces or contain control characters.": "Die PIN darf "
    "nicht mit Leerzeichen beginnen oder enden und keine Steuerzeichen enthalten.",
    "The two PINs differ.": "Die beiden PINs stimmen nicht überein.",
    "one-time code": "Einmalcode",
    "recovery code": "Wiederherstellungscode",
    # Passkeys.
    "A passkey signs you in without a one-time code, and cannot be phished. Confirm with your "
    "PIN and a one-time code to add one.": "Ein Passkey meldet Sie ohne Einmalcode an und kann "
    "nicht abgefischt werden. Bestätigen Sie mit Ihrer PIN und einem Einmalcode, um einen "
    "hinzuzufügen.",
    "Add a passkey": "Passkey hinzufügen",
    "Added (UTC)": "Hinzugefügt (UTC)",
    "Basic authentication, RADIUS (VPN, Wi-Fi) and PAM (SSH) cannot use a passkey: for those "
    "you need a code from an app or token as well.": "Basic-Authentifizierung, RADIUS (VPN, "
    "WLAN) und PAM (SSH) können keinen Passkey verwenden: dafür brauchen Sie zusätzlich einen "
    "Code aus einer App oder einem Token.",
    "For example: Laptop, Phone, Security key.": "Zum Beispiel: Laptop, Telefon, "
    "Sicherheitsschlüssel.",
    "Last used (UTC)": "Zuletzt verwendet (UTC)",
    "Name": "Name",
    "Name of the new passkey": "Name des neuen Passkeys",
    "No passkeys yet.": "Noch keine Passkeys.",
    "No user name or PIN: your device checks it is you (fingerprint, face or device PIN).": ""
    "Ohne Benutzernamen und PIN: Ihr Gerät prüft, dass Sie es sind (Fingerabdruck, Gesicht "
    "oder Geräte-PIN).",
    "Or use a passkey instead of an app": "Oder einen Passkey statt einer App verwenden",
    "Passkey": "Passkey",
    "Passkeys need JavaScript, which is off in this browser.": "Passkeys brauchen JavaScript, "
    "das in diesem Browser ausgeschaltet ist.",
    "Register a passkey": "Passkey registrieren",
    "Sign in with PIN and passkey": "Mit PIN und Passkey anmelden",
    "Sign in with a passkey": "Mit einem Passkey anmelden",
    "The passkey did not answer. Try again, or use a one-time code.": "Der Passkey hat nicht "
    "geantwortet. Versuchen Sie es erneut oder verwenden Sie einen Einmalcode.",
    "never": "nie",
    "passkey": "Passkey",
    "The passkey, user name or PIN was not accepted.": "Passkey, Benutzername oder PIN wurden "
    "nicht akzeptiert.",
    "Your passkey has been added.": "Ihr Passkey wurde hinzugefügt.",
    "No code at hand? Enter your PIN and use a passkey instead.": "Kein Code zur Hand? Geben "
    "Sie Ihre PIN ein und verwenden Sie stattdessen einen Passkey.",
    "Confirm with PIN and passkey": "Mit PIN und Passkey bestätigen",
    "Give the passkey a name of 1 to 64 characters.": "Geben Sie dem Passkey einen Namen mit 1 "
    "bis 64 Zeichen.",
    "The passkey could not be added. Please try again.": "Der Passkey konnte nicht hinzugefügt "
    "werden. Bitte versuchen Sie es erneut.",
    "Your passkey is registered. Sign in with it, with or without your user name and PIN.": ""
    "Ihr Passkey ist registriert. Melden Sie sich damit an, mit oder ohne Benutzernamen und PIN.",
    # Several authenticators (issue 20).
    "Your authenticators": "Ihre Authenticatoren",
    "A code from any of them signs you in with your PIN.": "Ein Code von jedem davon meldet "
    "Sie mit Ihrer PIN an.",
    "Rename": "Umbenennen",
    "New name for {name}": "Neuer Name für {name}",
    "Add an authenticator app": "Authenticator-App hinzufügen",
    "A second phone or a spare: confirm with your PIN and a code from an authenticator you have "
    "now, then scan the new key and enter a code from the new app.": "Ein zweites Telefon oder "
    "ein Ersatz: bestätigen Sie mit Ihrer PIN und einem Code eines Authenticators, den Sie "
    "jetzt haben, scannen Sie dann den neuen Schlüssel und geben Sie einen Code der neuen App "
    "ein.",
    "Name of the new app": "Name der neuen App",
    "Add app": "App hinzufügen",
    "Remove an authenticator": "Authenticator entfernen",
    "It stops signing you in at once. Your last authenticator cannot be removed.": "Er meldet "
    "Sie ab sofort nicht mehr an. Ihren letzten Authenticator können Sie nicht entfernen.",
    "A code from any of your apps signs you in with your PIN; so does any of your passkeys.": ""
    "Ein Code aus jeder Ihrer Apps meldet Sie mit Ihrer PIN an, ebenso jeder Ihrer Passkeys.",
    "Enrolment": "Registrierung",
    "Authenticator": "Authenticator",
    "Remove": "Entfernen",
    "Confirm with a code from the new app": "Mit einem Code der neuen App bestätigen",
    "The new app signs you in only once you have entered a code it shows. Without one within "
    "{n} minutes the key is dropped, and you can add the app again.": "Die neue App meldet Sie "
    "erst an, wenn Sie einen Code eingegeben haben, den sie anzeigt. Ohne einen solchen binnen "
    "{n} Minuten wird der Schlüssel verworfen, und Sie können die App erneut hinzufügen.",
    "Code from the new app": "Code der neuen App",
    "Confirm and add the app": "Bestätigen und App hinzufügen",
    "That is not a current code of the new app. Enter the code the app shows now.": "Das ist "
    "kein aktueller Code der neuen App. Geben Sie den Code ein, den die App jetzt anzeigt.",
    "The new app's key is no longer valid (it expired, was used, or had too many wrong codes). "
    "Add the app again.": "Der Schlüssel der neuen App gilt nicht mehr (abgelaufen, schon "
    "verwendet oder zu viele falsche Codes). Fügen Sie die App erneut hinzu.",
    "The new app has been added. A code from it signs you in from now on.": "Die neue App wurde "
    "hinzugefügt. Ab jetzt meldet auch ein Code aus ihr Sie an.",
    "The name has been changed.": "Der Name wurde geändert.",
    "The authenticator has been removed; it no longer signs you in.": "Der Authenticator wurde "
    "entfernt; er meldet Sie nicht mehr an.",
    "This is your only authenticator: add another one before you remove it.": "Das ist Ihr "
    "einziger Authenticator: fügen Sie einen weiteren hinzu, bevor Sie ihn entfernen.",
    "There is no such authenticator (any more).": "Diesen Authenticator gibt es (nicht mehr).",
    "Give it a name of 1 to 64 characters, without control characters.": "Geben Sie ihm einen "
    "Namen mit 1 bis 64 Zeichen, ohne Steuerzeichen.",
    "This gate keeps one token per user; ask your administrator.": "Dieses Gate hält einen "
    "Token pro Benutzer; wenden Sie sich an Ihren Administrator.",
}
