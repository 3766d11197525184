"""python-ldap is there, or the directory tests say loudly that they did not run."""

from __future__ import annotations

import importlib.util

from outside import missing


def test_python_ldap_is_installed() -> None:
    if importlib.util.find_spec("ldap") is None:
        missing(
            "the directory (LDAP) tests: python-ldap is not installed "
            "(pip install -e '.[directory]' after apt-get install libldap2-dev libsasl2-dev)"
        )
    import ldap

    assert ldap.OPT_X_TLS_REQUIRE_CERT is not None
