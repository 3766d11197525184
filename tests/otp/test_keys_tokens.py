"""Key formats, token type strings and otpauth:// URIs."""

from __future__ import annotations

import warnings

import pytest

from otpgate.errors import InvalidKey, InvalidTokenType, InvalidURI, OTPGateError
from otpgate.otp.keys import (
    MOTP_KEY_BYTES,
    ShortKeyWarning,
    check_key_length,
    decode_key,
    encode_base32,
    new_key,
)
from otpgate.otp.tokens import (
    ShortCodeWarning,
    TokenType,
    build_uri,
    parse_token_type,
    parse_uri,
    uri_warnings,
)

RFC_KEY = b"12345678901234567890"
RFC_KEY_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "3132333435363738393031323334353637383930",
        "3132333435363738393031323334353637383930".upper(),
        "31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30",
        "31323334-35363738-39303132-33343536-37383930",
    ],
)
def test_decode_hex(text: str) -> None:
    assert decode_key(text, "hex") == RFC_KEY


@pytest.mark.parametrize(
    "text",
    [
        RFC_KEY_B32,
        RFC_KEY_B32.lower(),
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ========"[:32],
        "GeZdGnBvGy3TqOjQgEzDgNbVgY3tQoJq",
    ],
)
def test_decode_base32_any_case_and_spacing(text: str) -> None:
    assert decode_key(text, "base32") == RFC_KEY


@pytest.mark.parametrize("nbytes", [1, 2, 3, 4, 5, 10, 11, 16, 20, 32, 64])
def test_base32_with_and_without_padding(nbytes: int) -> None:
    key = bytes(range(nbytes))
    bare = encode_base32(key)
    assert "=" not in bare
    padded = bare + "=" * (-len(bare) % 8)
    assert decode_key(bare, "base32") == key
    assert decode_key(padded, "base32") == key
    assert decode_key(padded.lower(), "base32") == key


@pytest.mark.parametrize(
    ("text", "fmt", "fragment"),
    [
        ("", "hex", "empty"),
        ("   ", "base32", "empty"),
        ("313", "hex", "even"),
        ("31zz", "hex", "hexadecimal"),
        ("0x3132", "hex", "hexadecimal"),
        ("GEZDGNBV1", "base32", "base32"),  # '1' is not in the base32 alphabet
        ("GEZDGNBV8", "base32", "base32"),
        ("A", "base32", "length"),  # 5 bits cannot be a whole byte
        ("GEZDG=NB", "base32", "base32"),  # padding in the middle
        ("\u0661\u0662\u0663\u0664", "hex", "hexadecimal"),  # Arabic-Indic digits
        ("\uff13\uff11\uff13\uff12", "hex", "hexadecimal"),  # full-width digits
    ],
)
def test_decode_key_rejects(text: str, fmt: str, fragment: str) -> None:
    with pytest.raises(InvalidKey, match=fragment):
        decode_key(text, fmt)  # type: ignore[arg-type]


def test_decode_auto_prefers_hex_only_for_even_hex() -> None:
    assert decode_key("3132", "auto") == b"12"
    assert decode_key(RFC_KEY_B32, "auto") == RFC_KEY


def test_invalid_key_is_a_value_error_under_the_root() -> None:
    with pytest.raises(ValueError):
        decode_key("xyz", "hex")
    assert issubclass(InvalidKey, OTPGateError)


def test_key_length_policy() -> None:
    with pytest.raises(InvalidKey, match="72 bits"):
        check_key_length(bytes(9))
    with pytest.warns(ShortKeyWarning, match="80 bits"):
        check_key_length(bytes(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_key_length(bytes(16))
        check_key_length(bytes(64))
        # Mobile-OTP secrets are 64 bits by that scheme's definition.
        check_key_length(bytes(MOTP_KEY_BYTES), motp=True)
    with pytest.raises(InvalidKey):
        check_key_length(bytes(8))
    with pytest.raises(InvalidKey):
        check_key_length(b"", motp=True)


def test_new_key_is_random_and_long_enough() -> None:
    a, b = new_key(), new_key()
    assert len(a) == 20 and a != b
    check_key_length(a)


# --- token types ----------------------------------------------------------------------------

# (spelling, kind, step, digits, canonical spelling)
REFERENCE_TYPES = [
    ("HOTP", "HOTP", 0, 6, "HOTP"),
    ("HOTP/E", "HOTP", 0, 6, "HOTP"),
    ("HOTP/E/8", "HOTP", 0, 8, "HOTP/E/8"),
    ("HOTP/T30", "HOTP", 30, 6, "HOTP/T30"),
    ("HOTP/T60/5", "HOTP", 60, 5, "HOTP/T60/5"),
    ("MOTP", "MOTP", 10, 6, "MOTP"),
    ("MOTP/E", "MOTP", 0, 6, "MOTP/E"),
    ("E", "HOTP", 0, 6, "HOTP"),
    ("T", "HOTP", 30, 6, "HOTP/T30"),
    ("hotp/T30/8", "HOTP", 30, 8, "HOTP/T30/8"),
    ("Motp/T10/8", "MOTP", 10, 8, "MOTP/T10/8"),
]


@pytest.mark.parametrize(("text", "kind", "step", "digits", "canonical"), REFERENCE_TYPES)
def test_reference_token_types_round_trip(
    text: str, kind: str, step: int, digits: int, canonical: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortCodeWarning)
        parsed = parse_token_type(text, allow_short=True)
    assert (parsed.kind, parsed.step, parsed.digits, parsed.algorithm) == (
        kind,
        step,
        digits,
        "SHA1",
    )
    # Written back exactly as read, so an untouched users-file line does not change.
    assert str(parsed) == text
    assert parsed.canonical() == canonical
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortCodeWarning)
        again = parse_token_type(canonical, allow_short=True)
    assert again == parsed
    assert str(TokenType(kind, step, digits)) == canonical  # type: ignore[arg-type]


def test_short_codes_only_from_existing_files() -> None:
    with pytest.raises(InvalidTokenType, match="too easy"):
        parse_token_type("HOTP/T60/5")
    with pytest.warns(ShortCodeWarning):
        assert parse_token_type("HOTP/E/1", allow_short=True).digits == 1
    with pytest.raises(InvalidTokenType):
        TokenType("HOTP", 0, 5).check_new()


@pytest.mark.parametrize(
    ("text", "algorithm", "step", "digits"),
    [
        ("HOTP-SHA256/T30/8", "SHA256", 30, 8),
        ("HOTP-SHA512/T60", "SHA512", 60, 6),
        ("HOTP-SHA256/E/8", "SHA256", 0, 8),
        ("HOTP-SHA512", "SHA512", 0, 6),
    ],
)
def test_sha2_extension_round_trips(text: str, algorithm: str, step: int, digits: int) -> None:
    parsed = parse_token_type(text)
    assert (parsed.algorithm, parsed.step, parsed.digits) == (algorithm, step, digits)
    assert parsed.canonical() == text
    built = TokenType("HOTP", step, digits, algorithm)  # type: ignore[arg-type]
    assert built.canonical() == text
    # The reference module only knows HOTP and MOTP before the first '/'.
    assert text.split("/")[0] not in ("HOTP", "MOTP")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "HOTP/",
        "HOTP/X",
        "HOTP/T",
        "HOTP/T0",
        "HOTP/t30",  # the reference module reads 'T' case-sensitively
        "HOTP/e",
        "HOTP/T30/0",
        "HOTP/T30/11",
        "HOTP/T30/6/1",
        "HOTP/E/",
        "HOTP//E",
        " HOTP",
        "HOTP ",
        "TOTP",
        "SHA1",
        "e",
        "t",
        "EE",
        "HOTP-MD5",
        "HOTP-SHA384/T30",
        "MOTP-SHA256",  # Mobile-OTP has no hash choice
        "HOTP/T-30",
        "HOTP/T+30",
        "HOTP/T\u0663\u0660",  # Arabic-Indic digits
        "HOTP/T30/\uff18",  # full-width 8
    ],
)
def test_bad_token_types_are_rejected(text: str) -> None:
    with pytest.raises(InvalidTokenType):
        parse_token_type(text, allow_short=True)


def test_token_type_constructor_reports_every_problem() -> None:
    with pytest.raises(InvalidTokenType) as info:
        TokenType("XOTP", -1, 11, "MD5", -5)  # type: ignore[arg-type]
    message = str(info.value)
    for fragment in ("kind", "time step", "digits", "algorithm", "T0"):
        assert fragment in message


# --- otpauth:// URIs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_type", "account", "issuer", "counter"),
    [
        (TokenType("HOTP", 30, 6), "alice", "ACME", 0),
        (TokenType("HOTP", 60, 8, "SHA256"), "alice@example.org", None, 0),
        (TokenType("HOTP", 30, 7, "SHA512"), "bob smith", "Help desk & co", 0),
        (TokenType("HOTP", 0, 6), "carol", "ACME", 0),
        (TokenType("HOTP", 0, 8, "SHA1"), "dave", None, 2**64 - 1),
        (TokenType("HOTP", 0, 10, "SHA256"), "J\u00fcrgen M\u00fcller", "B\u00fcro", 42),
    ],
)
def test_uri_round_trip(
    token_type: TokenType, account: str, issuer: str | None, counter: int
) -> None:
    uri = build_uri(token_type, RFC_KEY, account, issuer, counter)
    assert uri.startswith("otpauth://totp/" if token_type.is_time else "otpauth://hotp/")
    assert " " not in uri
    parsed = parse_uri(uri)
    assert parsed.token_type == token_type
    assert parsed.key == RFC_KEY
    assert parsed.account == account
    assert parsed.issuer == issuer
    assert parsed.counter == (counter if token_type.is_event else 0)


def test_uri_defaults_and_label_issuer() -> None:
    parsed = parse_uri(f"otpauth://totp/ACME%20Co:alice?secret={RFC_KEY_B32.lower()}")
    assert parsed.token_type == TokenType("HOTP", 30, 6, "SHA1")
    assert (parsed.account, parsed.issuer, parsed.key) == ("alice", "ACME Co", RFC_KEY)
    parsed = parse_uri(f"OTPAUTH://HOTP/bob?SECRET={RFC_KEY_B32}&Counter=9&algorithm=sha256")
    assert parsed.token_type == TokenType("HOTP", 0, 6, "SHA256")
    assert parsed.counter == 9 and parsed.issuer is None


def test_uri_secret_is_not_in_parsed_repr() -> None:
    parsed = parse_uri(f"otpauth://totp/alice?secret={RFC_KEY_B32}")
    assert "12345678901234567890" not in repr(parsed)


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        (f"https://totp/alice?secret={RFC_KEY_B32}", "otpauth://"),
        (f"otpauth://motp/alice?secret={RFC_KEY_B32}", "unknown OTP type"),
        (f"otpauth://totp/?secret={RFC_KEY_B32}", "no account"),
        (f"otpauth://totp/ACME:?secret={RFC_KEY_B32}", "no account"),
        ("otpauth://totp/alice?issuer=ACME", "no secret"),
        ("otpauth://totp/alice?secret=GEZDGNBV", "bits"),  # 40-bit key
        ("otpauth://totp/alice?secret=GEZD1NBV", "bad secret"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&secret={RFC_KEY_B32}", "more than once"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&algorithm=MD5", "algorithm"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&digits=5", "digits"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&digits=11", "digits"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&digits=six", "digits"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&digits=%D9%A6", "digits"),  # Arabic 6
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&digits=-6", "digits"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&period=0", "period"),
        (f"otpauth://hotp/alice?secret={RFC_KEY_B32}&counter=18446744073709551616", "counter"),
        (f"otpauth://hotp/alice?secret={RFC_KEY_B32}&counter=1e3", "counter"),
        (f"otpauth://totp/alice?secret={RFC_KEY_B32}&&&", "malformed"),
        ("otpauth://[::1/alice", "not a URI"),
    ],
)
def test_malformed_uris(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidURI, match=fragment):
        parse_uri(uri)


def test_build_uri_refusals() -> None:
    with pytest.raises(InvalidTokenType):
        build_uri(TokenType("MOTP", 10, 6), bytes(8), "alice")
    with pytest.raises(InvalidURI):
        build_uri(TokenType("HOTP", 30, 6), RFC_KEY, "a:b")
    with pytest.raises(InvalidURI):
        build_uri(TokenType("HOTP", 30, 6), RFC_KEY, "")
    with pytest.raises(InvalidURI):
        build_uri(TokenType("HOTP", 30, 6), RFC_KEY, "alice", "AC:ME")


def test_uri_warnings_name_non_defaults() -> None:
    assert uri_warnings(TokenType("HOTP", 30, 6)) == []
    assert uri_warnings(TokenType("HOTP", 0, 6)) == []
    notes = " ".join(uri_warnings(TokenType("HOTP", 60, 8, "SHA512")))
    assert "SHA512" in notes and "8 digits" in notes and "60 s" in notes


@pytest.mark.parametrize("account", [" alice", "alice ", " ", "\talice"])
def test_build_uri_refuses_names_a_reader_would_strip(account: str) -> None:
    with pytest.raises(InvalidURI, match=r"whitespace|non-empty"):
        build_uri(TokenType("HOTP", 30, 6), RFC_KEY, account)
