"""An OpenLDAP ``slapd`` of the test's own: its config, a test CA, two trees of users.

One server holds two directories, each with users and nested groups:

* ``dc=example,dc=org``: OpenLDAP as it is usually run (``uid``, ``entryUUID``,
  ``groupOfNames``; a disabled user carries ``employeeType: disabled``);
* ``dc=ad,dc=example``: an Active Directory look-alike (tests/directory/ad.schema:
  ``sAMAccountName``, ``userPrincipalName``, ``userAccountControl``,
  ``objectGUID``, ``member``/``memberOf`` with a group inside a group).

It listens on ``ldap://`` (StartTLS offered) and ``ldaps://`` with a
certificate from a CA made here, on 127.0.0.1 and ports that stay the same
across :meth:`OwnSlapd.stop` and :meth:`OwnSlapd.start`.  With
``lockout=N`` the password policy overlay locks an account after N failed
binds, as an AD lockout policy does.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from outside import require_tool
from procs import free_port, stop, tail, wait_for_port

HERE = Path(__file__).resolve().parent
AD_SCHEMA = HERE / "directory" / "ad.schema"
ROOT_PW = "root-secret"
SERVICE_PW = "service-secret"
LDAP_BASE = "dc=example,dc=org"
AD_BASE = "dc=ad,dc=example"
# userAccountControl: NORMAL_ACCOUNT, and with ACCOUNTDISABLE (2).
UAC_ENABLED = 512
UAC_DISABLED = 514


@dataclass(frozen=True)
class TestCA:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(directory: Path) -> TestCA:
    """A fresh CA (EC P-256) and a server certificate it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otpgate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    out = TestCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    out.ca_file.write_bytes(ca.public_bytes(pem))
    out.cert_file.write_bytes(cert.public_bytes(pem))
    out.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return out


def _conf(directory: Path, tls: TestCA, lockout: int | None) -> str:
    schemas = ["core", "cosine", "inetorgperson", "nis"]
    lines = [f"include /etc/ldap/schema/{s}.schema" for s in schemas]
    lines += [
        f"include {AD_SCHEMA}",
        f"pidfile {directory}/slapd.pid",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
    ]
    lines += ["moduleload ppolicy"] if lockout else []
    lines += [
        # As Active Directory by default: a DN with an empty password is an
        # anonymous bind that succeeds (RFC 4513 5.1.2), the trap otpgate must avoid.
        "allow bind_anon_dn",
        f"TLSCACertificateFile {tls.ca_file}",
        f"TLSCertificateFile {tls.cert_file}",
        f"TLSCertificateKeyFile {tls.key_file}",
        # Passwords only ever by the entry itself (a bind), read by nobody.
        "access to attrs=userPassword by self write by anonymous auth by * none",
        "access to * by users read by * none",
    ]
    for base, name in ((LDAP_BASE, "ldap"), (AD_BASE, "ad")):
        db = directory / f"db-{name}"
        db.mkdir(exist_ok=True)
        lines += [
            "database mdb",
            f'suffix "{base}"',
            f'rootdn "cn=admin,{base}"',
            f"rootpw {ROOT_PW}",
            f"directory {db}",
            "maxsize 10485760",
            "index objectClass,uid,cn,member eq",
        ]
        if name == "ad":
            lines.append("index sAMAccountName,userPrincipalName,objectGUID eq")
        if lockout:
            lines += ["overlay ppolicy", f'ppolicy_default "cn=lockout,{base}"']
    return "\n".join(lines) + "\n"


def _entry(dn: str, **attrs: str | list[str]) -> str:
    out = [f"dn: {dn}"]
    for name, value in attrs.items():
        for v in value if isinstance(value, list) else [value]:
            out.append(f"{name.rstrip('_')}: {v}")
    return "\n".join(out) + "\n\n"


def _guid() -> str:
    import base64

    return base64.b64encode(uuid.uuid4().bytes).decode()


def _tree(base: str, ad: bool, lockout: int | None) -> str:
    dc = base.split(",")[0].split("=")[1]
    text = _entry(base, objectClass=["dcObject", "organization"], dc=dc, o=dc)
    for ou in ("people", "groups", "services"):
        text += _entry(f"ou={ou},{base}", objectClass="organizationalUnit", ou=ou)
    text += _entry(
        f"cn=otpgate,ou=services,{base}",
        objectClass=["organizationalRole", "simpleSecurityObject"],
        cn="otpgate",
        userPassword=SERVICE_PW,
    )
    if lockout:
        text += _entry(
            f"cn=lockout,{base}",
            objectClass=["organizationalRole", "pwdPolicy"],
            cn="lockout",
            pwdAttribute="userPassword",
            pwdLockout="TRUE",
            pwdMaxFailure=str(lockout),
            pwdFailureCountInterval="0",
        )
    for login, full, groups, disabled in USERS:
        text += _person(base, ad, login, full, disabled, groups)
    for group, members in GROUPS.items():
        dns = [_member_dn(base, ad, m) for m in members]
        attrs: dict[str, str | list[str]] = {
            "objectClass": ["groupOfNames"] + (["adGroup"] if ad else []),
            "cn": group,
            "member": dns,
        }
        if ad:
            attrs |= {"sAMAccountName": group, "objectGUID:": _guid()}
        text += _entry(f"cn={group},ou=groups,{base}", **attrs)
    return text


def _member_dn(base: str, ad: bool, name: str) -> str:
    if name in GROUPS:
        return f"cn={name},ou=groups,{base}"
    return f"cn={name},ou=people,{base}" if ad else f"uid={name},ou=people,{base}"


def _person(base: str, ad: bool, login: str, full: str, disabled: bool, groups: list[str]) -> str:
    attrs: dict[str, str | list[str]] = {
        "cn": login if ad else full,
        "sn": full.split()[-1],
        "displayName": full,
        "mail": f"{login}@example.org",
        "userPassword": PASSWORDS[login],
    }
    if ad:
        attrs |= {
            "objectClass": ["inetOrgPerson", "adUser"],
            "sAMAccountName": login,
            "userPrincipalName": f"{login}@ad.example",
            "userAccountControl": str(UAC_DISABLED if disabled else UAC_ENABLED),
            "objectGUID:": _guid(),
            "memberOf": [f"cn={g},ou=groups,{base}" for g in groups],
        }
        return _entry(f"cn={login},ou=people,{base}", **attrs)
    attrs |= {"objectClass": "inetOrgPerson", "uid": login}
    if disabled:
        attrs["employeeType"] = "disabled"
    return _entry(f"uid={login},ou=people,{base}", **attrs)


# (login, display name, direct groups, disabled)
USERS: list[tuple[str, str, list[str], bool]] = [
    ("alice", "Alice Liddell", ["otp-admins", "otp-users"], False),
    ("bob", "Bob Builder", ["helpdesk"], False),
    ("carol", "Carol Danvers", ["otp-users"], True),
    ("dave", "Dave Lister", [], False),
    ("erin", "Erin Brockovich", ["helpdesk"], False),
]
PASSWORDS = {u[0]: f"{u[0]}-pass-1" for u in USERS}
# helpdesk sits inside otp-users: its members are users through the nesting.
GROUPS: dict[str, list[str]] = {
    "helpdesk": ["bob", "erin"],
    "otp-users": ["alice", "carol", "helpdesk"],
    "otp-admins": ["alice"],
}


class OwnSlapd:
    """``slapd`` on 127.0.0.1: ``ldap://`` on :attr:`port`, ``ldaps://`` on :attr:`tls_port`.

    Args:
        directory: its config, databases, CA and log.
        lockout: lock an account after this many failed binds (ppolicy).
    """

    def __init__(self, directory: Path, *, lockout: int | None = None) -> None:
        self.binary = require_tool("slapd")
        self.slapadd = require_tool("slapadd")
        self.directory = directory
        self.port = free_port()
        self.tls_port = free_port()
        self.tls = make_ca(directory)
        self.conf = directory / "slapd.conf"
        self.conf.write_text(_conf(directory, self.tls, lockout))
        self.log = directory / "slapd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        for base, ad in ((LDAP_BASE, False), (AD_BASE, True)):
            ldif = directory / f"{'ad' if ad else 'ldap'}.ldif"
            ldif.write_text(_tree(base, ad, lockout))
            subprocess.run(
                [self.slapadd, "-f", str(self.conf), "-b", base, "-l", str(ldif)],
                check=True,
                capture_output=True,
            )

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self) -> None:
        listen = f"{self.url}/ {self.ldaps_url}/"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-f", str(self.conf), "-h", listen, "-d", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, self.proc, self.log, "slapd")
        wait_for_port(self.tls_port, self.proc, self.log, "slapd")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def tail(self) -> str:
        return tail(self.log)


@contextlib.contextmanager
def own_slapd(directory: Path, *, lockout: int | None = None) -> Iterator[OwnSlapd]:
    server = OwnSlapd(directory, lockout=lockout)
    server.start()
    try:
        yield server
    finally:
        server.stop()
