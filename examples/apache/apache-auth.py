"""otpgate's check_password for mod_wsgi's WSGIAuthUserScript.

The settings: the TOML file, and/or mod_authn_otp's directive names.  The
users file (or SQLite database) and its directory must be writable by
www-data, as with the reference module.
"""

from otpgate.adapters.apache import provider

check_password = provider(
    "/etc/otpgate/otpgate.toml",  # or None to use only the directives below
    OTPAuthMaxLinger=600,
    OTPAuthLogoutOnIPChange=False,
)
