"""Which LDAP library: ldap3, python-ldap and bonsai against one slapd, same run.

Measures, per library: the import time (a fresh interpreter, best of 5), and
per operation (best median of 3 rounds of 200): a search on an open,
bound connection (the service account's lookup), and a new connection with a
simple bind as a user and an unbind (the ``pin = "directory"`` check).  The
three are not otpgate's dependencies; run it in a virtual environment that
has them (python-ldap and bonsai build against libldap2-dev and libsasl2-dev)::

    python bench/directory_libraries.py

docs/directory.md has the numbers and the choice.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from slapd_proc import LDAP_BASE, PASSWORDS, SERVICE_PW, own_slapd

SERVICE = f"cn=otpgate,ou=services,{LDAP_BASE}"
ALICE = f"uid=alice,ou=people,{LDAP_BASE}"
FILTER = "(&(objectClass=inetOrgPerson)(uid=alice))"
ATTRS = ["uid", "entryUUID", "displayName", "mail"]


def import_ms(module: str) -> float:
    best = float("inf")
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", f"import time; t=time.perf_counter(); import {module}; "
             "print(time.perf_counter()-t)"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        best = min(best, float(out.stdout) * 1000)
    return best


def per_op_us(op: Callable[[], object], n: int = 200) -> float:
    medians = []
    for _ in range(3):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            op()
            times.append(time.perf_counter() - t)
        medians.append(statistics.median(times) * 1e6)
    return min(medians)


def ldap3_ops(url: str) -> tuple[Callable[[], object], Callable[[], object]]:
    import ldap3

    server = ldap3.Server(url, get_info=ldap3.NONE)  # no schema read per bind
    conn = ldap3.Connection(server, SERVICE, SERVICE_PW, auto_bind=True)

    def search() -> object:
        conn.search(LDAP_BASE, FILTER, attributes=ATTRS)
        assert len(conn.entries) == 1
        return conn.entries

    def bind() -> object:
        c = ldap3.Connection(server, ALICE, PASSWORDS["alice"])
        assert c.bind()
        return c.unbind()

    return search, bind


def python_ldap_ops(url: str) -> tuple[Callable[[], object], Callable[[], object]]:
    import ldap

    conn = ldap.initialize(url)
    conn.simple_bind_s(SERVICE, SERVICE_PW)

    def search() -> object:
        found = conn.search_s(LDAP_BASE, ldap.SCOPE_SUBTREE, FILTER, ATTRS)
        assert len(found) == 1
        return found

    def bind() -> object:
        c = ldap.initialize(url)
        c.simple_bind_s(ALICE, PASSWORDS["alice"])
        return c.unbind_s()

    return search, bind


def bonsai_ops(url: str) -> tuple[Callable[[], object], Callable[[], object]]:
    import bonsai

    client = bonsai.LDAPClient(url)
    client.set_credentials("SIMPLE", user=SERVICE, password=SERVICE_PW)
    conn = client.connect()
    user = bonsai.LDAPClient(url)
    user.set_credentials("SIMPLE", user=ALICE, password=PASSWORDS["alice"])

    def search() -> object:
        found = conn.search(LDAP_BASE, bonsai.LDAPSearchScope.SUBTREE, FILTER, ATTRS)
        assert len(found) == 1
        return found

    def bind() -> object:
        c = user.connect()
        c.close()
        return c

    return search, bind


def main() -> int:
    libraries = {"ldap3": ldap3_ops, "ldap": python_ldap_ops, "bonsai": bonsai_ops}
    with tempfile.TemporaryDirectory() as tmp, own_slapd(Path(tmp)) as slapd:
        print(f"load average: {os.getloadavg()}")
        print(f"{'library':12} {'import ms':>10} {'search us':>10} {'bind us':>10}")
        for name, make in libraries.items():
            search, bind = make(slapd.url)
            row = (import_ms(name), per_op_us(search), per_op_us(bind))
            print(f"{name:12} {row[0]:10.1f} {row[1]:10.0f} {row[2]:10.0f}")
        print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
