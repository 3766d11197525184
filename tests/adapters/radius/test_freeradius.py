"""FreeRADIUS 3.2 with examples/freeradius/: otpgate decides PAP Access-Requests.

A real freeradius process (threaded, as deployed) loads otpgate through
rlm_python3 from a venv of the system Python, listens on 127.0.0.1 and a free
port, and is driven by radclient from freeradius-utils.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import missing, require_tool
from procs import serving
from system_python import site_packages, system_venv

from ..gate_users import audit, code, make_gate
from .packet import ACCESS_REJECT, access_request, send
from .server import RadiusReply, RadiusServer, radclient, rest_variant, run_freeradius

pytestmark = [pytest.mark.freeradius, pytest.mark.slow]

PINS = {
    name: f"{i}{i}{i}{i}"
    for i, name in enumerate(
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"], start=1
    )
}
REFUSED = "Login failed: wrong user name, PIN or code."


@pytest.fixture(scope="module", params=["python3", "rest"])
def radius(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RadiusServer]:
    """FreeRADIUS with otpgate in process (rlm_python3, the shipped default), or
    asking ``otpgate serve --workers 2`` (rlm_rest, examples/freeradius/rest/):
    every test below holds for both."""
    freeradius = require_tool("freeradius")
    require_tool("radclient")
    site = site_packages(system_venv())
    directory = tmp_path_factory.mktemp(f"radius-{request.param}")
    # A long first backoff, so "throttled" does not depend on how fast the test runs.
    config = make_gate(directory, PINS, ["throttle_base = 300"])
    if request.param == "python3":
        with run_freeradius(freeradius, directory, site, config) as server:
            yield server
        return
    if not Path("/usr/lib/freeradius/rlm_rest.so").exists():
        missing("FreeRADIUS's rlm_rest is not installed (apt-get install freeradius-rest)")
    key = secrets.token_urlsafe(24)
    with open(config, "a") as f:
        f.write(f'\n[web]\nsession_secrets = ["{"s" * 40}"]\napi_keys = ["{key}"]\n')
    with (
        serving(config, directory, "--workers", "2") as port,
        run_freeradius(
            freeradius, directory, site, config, after_install=rest_variant(port, key)
        ) as server,
    ):
        yield server


def ask(server: RadiusServer, user: str, password: str, **attrs: str) -> RadiusReply:
    replies = radclient(server, [{"User-Name": user, "User-Password": password, **attrs}])
    assert len(replies) == 1, replies
    return replies[0]


def audit_entries(server: RadiusServer, user: str) -> list[dict[str, object]]:
    return audit(server.directory, user)


def test_accept_with_pin_and_code(radius: RadiusServer) -> None:
    reply = ask(
        radius, "alice", PINS["alice"] + code("alice"), **{"Calling-Station-Id": "192.0.2.10"}
    )
    assert reply.code == "Access-Accept"
    assert "Reply-Message" not in reply.attributes
    (entry,) = audit_entries(radius, "alice")
    # The client's address reached the Authenticator (throttle and audit log).
    assert entry["result"] == "accept" and entry["reason"] == "otp"
    assert entry["ip"] == "192.0.2.10"


def test_replay_is_refused(radius: RadiusServer) -> None:
    password = PINS["bob"] + code("bob")
    assert ask(radius, "bob", password).code == "Access-Accept"
    again = ask(radius, "bob", password)
    assert again.code == "Access-Reject"
    assert again.attributes["Reply-Message"] == REFUSED
    assert [e["reason"] for e in audit_entries(radius, "bob")] == ["otp", "replayed"]


def test_wrong_pin_and_wrong_code_are_refused_alike(radius: RadiusServer) -> None:
    wrong_pin = ask(radius, "carol", "9999" + code("carol"))
    wrong_code = ask(radius, "dave", PINS["dave"] + code("dave", offset_steps=40))
    for reply in (wrong_pin, wrong_code):
        assert reply.code == "Access-Reject"
        assert reply.attributes == {"Reply-Message": REFUSED}
    assert [e["reason"] for e in audit_entries(radius, "carol")] == ["bad_pin"]
    assert [e["reason"] for e in audit_entries(radius, "dave")] == ["no_match"]


def test_unknown_user_is_refused_like_a_wrong_code(radius: RadiusServer) -> None:
    reply = ask(radius, "mallory", "1234" + code("alice"))
    assert reply.code == "Access-Reject"
    assert reply.attributes == {"Reply-Message": REFUSED}
    assert [e["reason"] for e in audit_entries(radius, "mallory")] == ["unknown_user"]


def test_throttled_per_client_address_with_reply_message(radius: RadiusServer) -> None:
    guesser = {"Calling-Station-Id": "203.0.113.66"}
    for guess in ("000000", "111111", "222222"):
        assert ask(radius, "erin", PINS["erin"] + guess, **guesser).attributes == {
            "Reply-Message": REFUSED
        }
    # Three free failures; the fourth starts the backoff and says so.  Then
    # even the right PIN+code from that address is answered without looking.
    fourth = ask(radius, "erin", PINS["erin"] + "333333", **guesser)
    blocked = ask(radius, "erin", PINS["erin"] + code("erin"), **guesser)
    for reply in (fourth, blocked):
        assert reply.code == "Access-Reject"
        message = reply.attributes["Reply-Message"]
        assert message.startswith("Too many failed attempts: try again in ")
        assert 250 <= int(message.split(" in ")[1].split()[0]) <= 300
    # The real user, from another address, is not locked out by the guesser.
    other = ask(
        radius, "erin", PINS["erin"] + code("erin"), **{"Calling-Station-Id": "198.51.100.7"}
    )
    assert other.code == "Access-Accept"
    reasons = [(e["reason"], e["ip"]) for e in audit_entries(radius, "erin")]
    assert reasons[-2:] == [("throttled", "203.0.113.66"), ("otp", "198.51.100.7")]


def test_without_calling_station_id_the_nas_address_counts(radius: RadiusServer) -> None:
    assert ask(radius, "frank", "0000000000").code == "Access-Reject"
    ask(radius, "frank", "0000000000", **{"NAS-IP-Address": "10.1.2.3"})
    ips = [e["ip"] for e in audit_entries(radius, "frank")]
    # radclient sends no NAS-IP-Address: the site takes the packet's source.
    assert ips == ["127.0.0.1", "10.1.2.3"]


def test_sixteen_concurrent_requests_one_fresh_code_one_accept(radius: RadiusServer) -> None:
    password = PINS["grace"] + code("grace")
    requests = [
        {"User-Name": "grace", "User-Password": password, "Calling-Station-Id": f"192.0.2.{i}"}
        for i in range(16)
    ]
    replies = radclient(radius, requests, parallel=16)
    codes = sorted(r.code for r in replies)
    assert codes == ["Access-Accept"] + ["Access-Reject"] * 15
    reasons = sorted(e["reason"] for e in audit_entries(radius, "grace"))
    assert reasons == ["otp"] + ["replayed"] * 15


def test_wrong_secret_gets_no_answer(radius: RadiusServer) -> None:
    replies = radclient(
        radius,
        [{"User-Name": "heidi", "User-Password": PINS["heidi"] + code("heidi")}],
        secret="not-the-secret",
        timeout=2,
    )
    assert [r.code for r in replies] != ["Access-Accept"]
    assert audit_entries(radius, "heidi") == []


@pytest.mark.parametrize(
    ("user", "password"),
    [
        (b"alice", b"\xff\xfe" + b"1111" + b"000000"),  # not UTF-8
        (b"ali\xffce", b"1111000000"),
        (b"alice\x00", b"1111000000"),  # a NUL, as C code would cut it
        (b"alice\n", b"1111000000"),
        (b"alice", b"1" * 128),  # the longest password RADIUS carries
        (b"a" * 253, b"1111000000"),
    ],
)
def test_malformed_bytes_are_refused_and_the_server_stays_up(
    radius: RadiusServer, user: bytes, password: bytes
) -> None:
    reply = send(radius.port, access_request(user, password, radius.secret.encode()))
    assert reply is not None, "no answer: did FreeRADIUS or the module crash?"
    assert reply[0] == ACCESS_REJECT
    # Not UTF-8: rlm_python3 cannot make a str of it and fails the request
    # before otpgate sees it (so no audit line); FreeRADIUS answers Access-Reject.
    # Still answering, and still deciding:
    alive = ask(radius, "nobody", "0", **{"Calling-Station-Id": secrets.token_hex(8)})
    assert alive.code == "Access-Reject"


# --- two steps: Access-Challenge for the code -------------------------------------------


@pytest.fixture(scope="module")
def two_step(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadiusServer]:
    """The shipped config with ``challenge = yes`` (the one line an administrator changes)."""
    freeradius = require_tool("freeradius")
    require_tool("radclient")
    site = site_packages(system_venv())
    directory = tmp_path_factory.mktemp("radius-2step")
    config = make_gate(directory, PINS)

    def challenge_on(raddb: Path) -> None:
        module = raddb / "mods-enabled/otpgate"
        text = module.read_text()
        assert "challenge = no" in text
        module.write_text(text.replace("challenge = no", "challenge = yes"))

    with run_freeradius(freeradius, directory, site, config, after_install=challenge_on) as server:
        yield server


def step(server: RadiusServer, user: str, password: str, state: str | None = None) -> RadiusReply:
    attrs = {"User-Name": user, "User-Password": password}
    if state is not None:
        attrs["State"] = state
    (reply,) = radclient(server, [attrs])
    return reply


def test_two_steps_pin_then_code(two_step: RadiusServer) -> None:
    first = step(two_step, "alice", PINS["alice"])
    assert first.code == "Access-Challenge"
    assert first.attributes["Reply-Message"] == "One-time code:"
    state = first.attributes["State"]
    # Nothing was decided yet: the PIN alone is not checked (no PIN oracle).
    assert audit(two_step.directory, "alice") == []
    assert step(two_step, "alice", code("alice"), state).code == "Access-Accept"
    # The State is used up.
    assert step(two_step, "alice", code("alice", 1), state).code == "Access-Reject"
    assert [e["reason"] for e in audit(two_step.directory, "alice")] == ["otp"]


def test_two_steps_refusals(two_step: RadiusServer) -> None:
    wrong_pin = step(two_step, "bob", "0000").attributes["State"]
    assert step(two_step, "bob", code("bob"), wrong_pin).attributes == {"Reply-Message": REFUSED}
    # A State is bound to its user, and a made-up State is nobody's.
    carols = step(two_step, "carol", PINS["carol"]).attributes["State"]
    assert step(two_step, "dave", code("dave"), carols).code == "Access-Reject"
    assert step(two_step, "carol", code("carol"), carols).code == "Access-Reject"
    assert step(two_step, "carol", code("carol"), "0x" + "00" * 16).code == "Access-Reject"
    assert [e["reason"] for e in audit(two_step.directory, "bob")] == ["bad_pin"]
    assert audit(two_step.directory, "carol") == audit(two_step.directory, "dave") == []
