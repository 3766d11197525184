"""Published test vectors: RFC 4226 Appendix D, RFC 6238 Appendix B, Mobile-OTP.

The expected values live in tests/data/*.json, copied from the RFCs (and, for
mOTP, from an independent implementation's tests), so a wrong constant in the
code cannot also be a wrong constant in the test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from otpgate.errors import NoMatch
from otpgate.otp.algorithms import HmacKey, hotp, hotp_hex, motp, time_step, totp, truncate
from otpgate.otp.tokens import TokenType
from otpgate.otp.verify import Policy, Token, TokenState, verify

DATA = Path(__file__).resolve().parents[1] / "data"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


RFC4226 = _load("rfc4226.json")
RFC6238 = _load("rfc6238.json")
MOTP = _load("motp.json")
HOTP_KEY = RFC4226["secret_ascii"].encode()

HOTP_CASES = [pytest.param(c, id=f"counter{c['counter']}") for c in RFC4226["cases"]]
TOTP_CASES = [
    pytest.param(alg, case, id=f"{alg}-{case['time']}")
    for case in RFC6238["cases"]
    for alg in ("SHA1", "SHA256", "SHA512")
]
MOTP_CASES = [
    pytest.param(c, id=f"{group}-{c['key'][:4]}-{c['time']}")
    for group in ("computed", "published")
    for c in MOTP[group]
]


@pytest.mark.parametrize("case", HOTP_CASES)
def test_rfc4226_hotp_six_digits(case: dict[str, Any]) -> None:
    assert hotp(HOTP_KEY, case["counter"]) == case["hotp"]


@pytest.mark.parametrize("case", HOTP_CASES)
def test_rfc4226_truncation_and_long_codes(case: dict[str, Any]) -> None:
    mac = hmac.digest(HOTP_KEY, case["counter"].to_bytes(8, "big"), "sha1")
    assert truncate(mac) == case["truncated"]
    # Ten digits are the whole 31-bit value, zero padded, as oathtool prints it.
    assert hotp(HOTP_KEY, case["counter"], 10) == str(case["truncated"]).zfill(10)
    for digits in (7, 8, 9):
        expected = str(case["truncated"] % 10**digits).zfill(digits)
        assert hotp(HOTP_KEY, case["counter"], digits) == expected


@pytest.mark.parametrize("case", HOTP_CASES)
def test_rfc4226_hex_form(case: dict[str, Any]) -> None:
    # mod_authn_otp's hex form: the low 4*digits bits of the truncated value.
    assert hotp_hex(HOTP_KEY, case["counter"], 6) == format(case["truncated"] & 0xFFFFFF, "06x")
    assert hotp_hex(HOTP_KEY, case["counter"], 8) == format(case["truncated"], "08x")


@pytest.mark.parametrize("case", HOTP_CASES)
def test_rfc4226_verify_accepts_vector(case: dict[str, Any]) -> None:
    token = Token(TokenType("HOTP", 0, 6), HOTP_KEY)
    match = verify(token, TokenState(0), case["hotp"], now=0, policy=Policy(look_ahead=9))
    assert match.matched == case["counter"]
    assert match.state.counter == case["counter"] + 1


@pytest.mark.parametrize(("alg", "case"), TOTP_CASES)
def test_rfc6238_totp_eight_digits(alg: str, case: dict[str, Any]) -> None:
    seed = RFC6238["seeds_ascii"][alg].encode()
    assert len(seed) == {"SHA1": 20, "SHA256": 32, "SHA512": 64}[alg]
    assert time_step(case["time"]) == int(case["step"], 16)
    assert totp(seed, case["time"], digits=8, algorithm=alg) == case[alg]


@pytest.mark.parametrize(("alg", "case"), TOTP_CASES)
def test_rfc6238_six_digits_are_the_low_digits(alg: str, case: dict[str, Any]) -> None:
    # value mod 10**6 == (value mod 10**8) mod 10**6: the RFC's 8-digit codes fix the 6-digit ones.
    seed = RFC6238["seeds_ascii"][alg].encode()
    assert totp(seed, case["time"], digits=6, algorithm=alg) == case[alg][-6:]


@pytest.mark.parametrize(("alg", "case"), TOTP_CASES)
def test_rfc6238_verify_accepts_vector(alg: str, case: dict[str, Any]) -> None:
    seed = RFC6238["seeds_ascii"][alg].encode()
    token = Token(TokenType("HOTP", 30, 8, alg), seed)  # type: ignore[arg-type]
    match = verify(token, TokenState(), case[alg], now=case["time"])
    assert match.matched == int(case["step"], 16)
    assert match.offset == 0


@pytest.mark.parametrize("alg", ["SHA1", "SHA256", "SHA512"])
def test_hmac_key_equals_hmac_digest(alg: str) -> None:
    name = alg.lower()
    # Keys longer than the hash block are hashed first (RFC 2104); cover both sides of it.
    for key in (b"", b"k", RFC6238["seeds_ascii"][alg].encode(), bytes(range(200))):
        for msg in (b"", (12345).to_bytes(8, "big"), b"x" * 300):
            assert HmacKey(key, alg).digest(msg) == hmac.digest(key, msg, name)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", MOTP_CASES)
def test_motp(case: dict[str, Any]) -> None:
    counter = case["time"] // 10
    material = f"{counter}{case['key']}{case['pin']}".encode()
    # MD5 is what the Mobile-OTP scheme defines; here it checks the scheme, nothing else.
    independent = hashlib.md5(material, usedforsecurity=False).hexdigest()[:6]
    assert independent == case["motp"]
    key = bytes.fromhex(case["key"])
    assert motp(key, case["pin"], counter) == case["motp"]
    token = Token(TokenType("MOTP", 10, 6), key)
    match = verify(token, TokenState(), case["motp"], now=case["time"], pin=case["pin"])
    assert match.matched == counter


def test_motp_wrong_pin_is_not_accepted() -> None:
    case = MOTP["published"][0]
    token = Token(TokenType("MOTP", 10, 6), bytes.fromhex(case["key"]))
    with pytest.raises(NoMatch):
        verify(token, TokenState(), case["motp"], now=case["time"], pin="0000")


def test_motp_code_is_case_insensitive() -> None:
    case = MOTP["published"][0]
    token = Token(TokenType("MOTP", 10, 6), bytes.fromhex(case["key"]))
    match = verify(token, TokenState(), case["motp"].upper(), now=case["time"], pin=case["pin"])
    assert match.matched == case["time"] // 10
