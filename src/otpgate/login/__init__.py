"""The login decision: attempts, rules, compare-and-set, PINs, linger, the Authenticator.

Exports (import them from their modules, so that a front end loads only what it uses):
``authenticator.Authenticator`` (the one entry, ``login(attempt)``; the web calls its two
halves ``check_cached`` and ``decide``), ``assembly.open_authenticator`` (one built from the
settings), ``attempt.Attempt`` and ``attempt.Decision``, ``reasons.Reason``;
``decision``, ``rules``, ``compare_and_set``, ``pins``, ``linger``, ``sessions``,
``user_state``, ``recovery`` and ``shared_credentials`` are its parts.
Passkeys: ``passkeys.Ceremonies`` (WebAuthn, loads py_webauthn), ``passkey_login.PasskeyLogin``
(a sign-in through the same Regulator, PIN check and audit), ``passkey_types``.
"""
