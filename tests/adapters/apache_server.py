"""Apache httpd with Debian's mod_wsgi on 127.0.0.1 and a free port, for the
Apache provider's tests (tests/adapters) and the migration guide's (tests/docs).

Its config, pid and log files are in the test's directory; Apache is stopped
(then killed) when the test ends.  otpgate comes from a venv of the system
Python, the one mod_wsgi embeds (:func:`system_python.system_venv`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from conftest import missing, require_tool
from procs import ROOT, free_port, started
from system_python import system_venv

MOD_WSGI = Path("/usr/lib/apache2/modules/mod_wsgi.so")


def apache_and_venv() -> tuple[str, Path]:
    """apache2, and the venv its mod_wsgi imports otpgate from (built on first use)."""
    apache = require_tool("apache2")
    if not MOD_WSGI.exists():
        missing("mod_wsgi (apt-get install libapache2-mod-wsgi-py3)")
    return apache, system_venv()


APACHE_CONF = """
ServerRoot /usr/lib/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {dir}/apache.pid
ErrorLog {dir}/apache-error.log
LogLevel warn
DefaultRuntimeDir {dir}/run
Mutex file:{dir}/run default
{user}

{mpm}
LoadModule authn_core_module modules/mod_authn_core.so
LoadModule authn_file_module modules/mod_authn_file.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule auth_basic_module modules/mod_auth_basic.so
LoadModule authz_user_module modules/mod_authz_user.so
LoadModule env_module modules/mod_env.so
LoadModule wsgi_module modules/mod_wsgi.so

WSGIScriptAlias /app {dir}/app.wsgi

{body}
"""

# Two children of eight threads: the shipped example's test.
APACHE_EVENT = """LoadModule mpm_event_module modules/mod_mpm_event.so
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16"""

# One connection per child, held for a minute between requests: a client that
# keeps its connection open keeps its child, and a new client gets another one.
APACHE_PREFORK = """LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
StartServers 4
MinSpareServers 3
MaxSpareServers 6
ServerLimit 8
MaxRequestWorkers 8
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0"""

APP_WSGI = """
import os

def application(environ, start_response):
    body = "REMOTE_USER=%s\\n" % environ.get("REMOTE_USER")
    # Which Apache child answered (the provider runs in the same one).
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Child", str(os.getpid()))]
    start_response("200 OK", headers)
    return [body.encode("utf-8")]
"""


@contextlib.contextmanager
def run_apache(apache: str, directory: Path, venv: Path, auth_script: str) -> Iterator[int]:
    """Apache with mod_wsgi, ``auth_script`` as the auth provider; yields its port."""
    (directory / "apache-auth.py").write_text(auth_script)
    example = (
        (ROOT / "examples/apache/otpgate.conf")
        .read_text()
        .replace("/opt/otpgate/venv", str(venv))
        .replace("/etc/otpgate/apache-auth.py", str(directory / "apache-auth.py"))
    )
    with run_apache_conf(
        apache, directory, "# --- examples/apache/otpgate.conf ---\n" + example
    ) as port:
        yield port


@contextlib.contextmanager
def run_apache_conf(
    apache: str, directory: Path, body: str, mpm: str = APACHE_EVENT
) -> Iterator[int]:
    """Apache with mod_wsgi, the app at ``/app`` and ``body`` (auth blocks); yields its port."""
    port = free_port()
    (directory / "run").mkdir(exist_ok=True)
    (directory / "app.wsgi").write_text(APP_WSGI)
    conf = directory / "apache.conf"
    # As root, Apache's children switch to www-data; as anyone else they stay that user.
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    conf.write_text(APACHE_CONF.format(port=port, dir=directory, user=user, mpm=mpm, body=body))
    log = directory / "apache-error.log"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "APACHE_RUN_DIR": str(directory / "run"),
    }
    with started([apache, "-f", str(conf), "-DFOREGROUND"], port, log, "apache2", env=env):
        yield port
