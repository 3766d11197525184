"""Property tests for the verification rules (hypothesis).

Six-digit codes collide: two counters in one window share a code about once
in 10**5 draws.  The properties are therefore stated about counters and
steps ("no step is accepted twice"), and where a collision could make a
second match legitimate the test checks that the match really is a newer
counter with that very code.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pyotp
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from otpgate.errors import InvalidURI, MalformedCode, NoMatch, ReplayedCode, VerificationError
from otpgate.otp.algorithms import HmacKey
from otpgate.otp.keys import decode_key, encode_base32
from otpgate.otp.tokens import TokenType, build_uri, parse_token_type, parse_uri
from otpgate.otp.verify import Match, Policy, Token, TokenState, resync, verify

SETTINGS = settings(max_examples=150, deadline=None)

algorithms = st.sampled_from(["SHA1", "SHA256", "SHA512"])
digit_counts = st.integers(6, 10)
keys = st.binary(min_size=10, max_size=80)
counters = st.integers(0, 2**63)
small = st.integers(0, 12)


@st.composite
def hotp_tokens(draw: st.DrawFn) -> Token:
    return Token(TokenType("HOTP", 0, draw(digit_counts), draw(algorithms)), draw(keys))


@st.composite
def totp_tokens(draw: st.DrawFn) -> Token:
    step = draw(st.sampled_from([30, 60, 10, 1, 7, 300]))
    t0 = draw(st.sampled_from([0, 0, 1, 1000]))
    token_type = TokenType("HOTP", step, draw(digit_counts), draw(algorithms), t0)
    return Token(token_type, draw(keys))


def at_step(token: Token, step: int) -> float:
    """A time inside ``step`` (not only its first second)."""
    return token.type.t0 + step * token.type.step + token.type.step / 2


def check_accepted(token: Token, code: str, match: Match) -> None:
    """A match is only ever for a counter that produces this very code."""
    assert hmac.compare_digest(token.code(match.matched), code)


# --- generate, then verify ------------------------------------------------------------------


@SETTINGS
@given(hotp_tokens(), counters, small, small)
def test_hotp_round_trip(token: Token, counter: int, behind: int, look_ahead: int) -> None:
    assume(behind <= look_ahead)
    start = max(counter - behind, 0)
    code = token.code(counter)
    match = verify(token, TokenState(start), code, now=0, policy=Policy(look_ahead=look_ahead))
    check_accepted(token, code, match)
    # The first counter in the window with this code; normally the one generated.
    assert start <= match.matched <= counter
    assert match.state == TokenState(match.matched + 1, None)
    assert match.offset == match.matched - start


@SETTINGS
@given(totp_tokens(), st.integers(0, 2**34), st.integers(-3, 3), st.integers(0, 3))
def test_totp_round_trip(token: Token, now_step: int, k: int, window: int) -> None:
    assume(abs(k) <= window and now_step + k >= 0)
    code = token.code(now_step + k)
    policy = Policy(window=window, max_drift=window)
    match = verify(token, TokenState(), code, now=at_step(token, now_step), policy=policy)
    check_accepted(token, code, match)
    assert abs(match.matched - now_step) <= abs(k)
    assert match.state == TokenState(match.matched - now_step, match.matched)


@SETTINGS
@given(
    st.binary(min_size=16, max_size=80),  # pyotp refuses keys under 112 bits
    counters,
    st.sampled_from(["SHA1", "SHA256", "SHA512"]),
    st.integers(6, 8),
)
def test_hotp_agrees_with_pyotp(key: bytes, counter: int, alg: str, digits: int) -> None:
    token = Token(TokenType("HOTP", 0, digits, alg), key)  # type: ignore[arg-type]
    digest = getattr(hashlib, alg.lower())
    other = pyotp.HOTP(encode_base32(key), digits=digits, digest=digest)
    assert token.code(counter) == other.at(counter)


@SETTINGS
@given(st.binary(max_size=300), st.binary(max_size=40), algorithms)
def test_hmac_key_equals_hmac_digest(key: bytes, msg: bytes, alg: Any) -> None:
    assert HmacKey(key, alg).digest(msg) == hmac.digest(key, msg, alg.lower())


# --- replay ---------------------------------------------------------------------------------


@SETTINGS
@given(hotp_tokens(), st.integers(0, 2**40), small)
def test_hotp_code_never_accepted_twice(token: Token, counter: int, look_ahead: int) -> None:
    code = token.code(counter)
    policy = Policy(look_ahead=look_ahead)
    first = verify(token, TokenState(counter), code, now=0, policy=policy)
    try:
        second = verify(token, first.state, code, now=0, policy=policy)
    except ReplayedCode as exc:
        assert exc.matched == first.matched
    except NoMatch:
        pass
    else:  # only a collision at a later counter can match, and then a newer one
        check_accepted(token, code, second)
        assert second.matched > first.matched


@SETTINGS
@given(totp_tokens(), st.integers(10, 2**34), st.integers(-2, 2), st.integers(0, 3))
def test_totp_nothing_at_or_before_an_accepted_step(
    token: Token, now_step: int, k: int, window: int
) -> None:
    """After step s is accepted, no step <= s is, the same code included."""
    assume(abs(k) <= window)
    now = at_step(token, now_step)
    policy = Policy(window=window, max_drift=window)
    code = token.code(now_step + k)
    first = verify(token, TokenState(), code, now=now, policy=policy)
    s = first.matched
    for t in range(max(now_step - window, 0), s + 1):
        try:
            again = verify(token, first.state, token.code(t), now=now, policy=policy)
        except (ReplayedCode, NoMatch):
            continue
        # A collision may hit a step after s; never s or anything older.
        assert again.matched > s


@SETTINGS
@given(totp_tokens(), st.integers(10, 2**34), st.integers(0, 3), st.integers(0, 4))
def test_totp_replay_across_time(token: Token, now_step: int, window: int, later: int) -> None:
    """A used code stays refused while the clock moves on through its window."""
    policy = Policy(window=window, max_drift=window)
    code = token.code(now_step)
    first = verify(token, TokenState(), code, now=at_step(token, now_step), policy=policy)
    try:
        again = verify(
            token, first.state, code, now=at_step(token, now_step + later), policy=policy
        )
    except VerificationError:
        return
    check_accepted(token, code, again)
    assert again.matched > first.matched


# --- windows and drift ----------------------------------------------------------------------


@SETTINGS
@given(hotp_tokens(), st.integers(0, 2**40), st.integers(-5, 20), small)
def test_hotp_look_ahead_bounds(token: Token, start: int, delta: int, look_ahead: int) -> None:
    target = start + delta
    assume(target >= 0)
    code = token.code(target)
    policy = Policy(look_ahead=look_ahead)
    try:
        match = verify(token, TokenState(start), code, now=0, policy=policy)
    except (NoMatch, ReplayedCode):
        # Refused: only allowed if the target was outside [start, start + look_ahead].
        assert not 0 <= delta <= look_ahead
        return
    check_accepted(token, code, match)
    assert start <= match.matched <= start + look_ahead
    assert match.state.counter == match.matched + 1


@settings(max_examples=400, deadline=None)  # the heart of the rules: look harder
@given(
    totp_tokens(),
    st.integers(100, 2**34),
    st.integers(-8, 8),  # stored drift
    st.integers(-5, 5),  # where the code really is, relative to now + drift
    st.integers(0, 3),  # window
    st.integers(0, 6),  # max drift
)
def test_totp_window_and_drift_bounds(
    token: Token, now_step: int, drift: int, off: int, window: int, max_drift: int
) -> None:
    k = drift + off  # relative to now; mostly near the window's edges, where the rules bite
    now = at_step(token, now_step)
    policy = Policy(window=window, max_drift=max_drift)
    code = token.code(now_step + k)
    center = now_step + drift
    in_window = abs(now_step + k - center) <= window
    try:
        match = verify(token, TokenState(drift), code, now=now, policy=policy)
    except NoMatch:
        assert not in_window
        return
    assert in_window
    check_accepted(token, code, match)
    # Never outside the window around now + drift ...
    assert abs(match.matched - center) <= window
    assert match.offset == match.matched - center
    # ... and the learned drift is the true one, cut at max_drift (a larger stored
    # drift is kept but never grown).
    bound = max(max_drift, abs(drift))
    new_drift = match.state.counter
    assert new_drift == max(-bound, min(bound, match.matched - now_step))
    assert abs(new_drift) <= max_drift or abs(new_drift) <= abs(drift)
    assert match.state.last_step == match.matched


# --- malformed codes ------------------------------------------------------------------------

# Digits that int() and str.isdigit() accept but a code must not contain.
UNICODE_DIGITS = [
    "\u0660",  # Arabic-Indic
    "\u06f0",  # Extended Arabic-Indic
    "\u0966",  # Devanagari
    "\uff10",  # full-width
    "\U0001d7ce",  # mathematical bold
]


@st.composite
def malformed(draw: st.DrawFn, digits: int) -> object:
    good = draw(st.text(alphabet="0123456789", min_size=digits, max_size=digits))
    kind = draw(st.integers(0, 6))
    if kind == 0:  # wrong length
        n = draw(st.integers(0, 14).filter(lambda n: n != digits))
        return draw(st.text(alphabet="0123456789", min_size=n, max_size=n))
    if kind == 1:  # a space, tab or newline somewhere
        i = draw(st.integers(0, digits))
        return good[:i] + draw(st.sampled_from([" ", "\t", "\n", "\u00a0"])) + good[i:]
    if kind == 2:  # a sign
        return draw(st.sampled_from(["+", "-"])) + good[1:]
    if kind == 3:  # Unicode digits of the same value, in one or more places
        zero = draw(st.sampled_from(UNICODE_DIGITS))
        positions = draw(st.sets(st.integers(0, digits - 1), min_size=1))
        return "".join(chr(ord(zero) + int(c)) if i in positions else c for i, c in enumerate(good))
    if kind == 4:  # a letter that is not a digit
        i = draw(st.integers(0, digits - 1))
        return good[:i] + draw(st.sampled_from("xXoOlI_.,")) + good[i + 1 :]
    if kind == 5:  # not a string at all
        return draw(
            st.sampled_from([int(good), good.encode(), None, [good], float(good), bytearray(b"1")])
        )
    return good + "\x00"


@SETTINGS
@given(st.data(), digit_counts, st.booleans())
def test_malformed_codes_are_rejected(data: st.DataObject, digits: int, time_based: bool) -> None:
    token = Token(TokenType("HOTP", 30 if time_based else 0, digits), b"k" * 20)
    code = data.draw(malformed(digits))
    with pytest.raises(MalformedCode):
        verify(token, TokenState(), code, now=1e9)  # type: ignore[arg-type]


@SETTINGS
@given(st.text(max_size=12), digit_counts)
def test_only_ascii_digit_strings_of_the_right_length_get_past_the_form_check(
    text: str, digits: int
) -> None:
    token = Token(TokenType("HOTP", 0, digits), b"k" * 20)
    well_formed = len(text) == digits and all(c in "0123456789" for c in text)
    try:
        verify(token, TokenState(), text, now=0)
    except MalformedCode:
        assert not well_formed
    except VerificationError:
        assert well_formed
    else:
        assert well_formed


@SETTINGS
@given(st.text(max_size=10))
def test_hex_form_is_strict_too(text: str) -> None:
    token = Token(TokenType("HOTP", 0, 6), b"k" * 20)
    ok = len(text) == 6 and all(c in "0123456789abcdefABCDEF" for c in text)
    try:
        verify(token, TokenState(), text, now=0, policy=Policy(accept_hex=True))
    except MalformedCode:
        assert not ok
    except VerificationError:
        assert ok


# --- resynchronisation ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(hotp_tokens(), st.integers(0, 2**40), st.integers(0, 999))
def test_hotp_resync_finds_two_consecutive_codes(token: Token, start: int, ahead: int) -> None:
    c = start + ahead
    match = resync(token, TokenState(start), token.code(c), token.code(c + 1), now=0)
    # Two consecutive codes colliding elsewhere is a 1e-12 event: the match is exact.
    assert match.matched == c + 1
    assert match.state == TokenState(c + 2, None)


@settings(max_examples=60, deadline=None)
@given(totp_tokens(), st.integers(1000, 2**34), st.integers(-239, 239))
def test_totp_resync_finds_two_consecutive_codes(token: Token, now_step: int, drift: int) -> None:
    s = now_step + drift
    match = resync(
        token, TokenState(), token.code(s), token.code(s + 1), now=at_step(token, now_step)
    )
    assert match.matched == s + 1
    assert match.state == TokenState(drift + 1, s + 1)


@settings(max_examples=40, deadline=None)
@given(hotp_tokens(), st.integers(0, 2**40), st.integers(0, 50))
def test_resync_refuses_codes_out_of_order(token: Token, start: int, ahead: int) -> None:
    c = start + ahead
    with pytest.raises(NoMatch):
        resync(token, TokenState(start), token.code(c + 1), token.code(c), now=0)


@settings(max_examples=40, deadline=None)
@given(totp_tokens(), st.integers(1000, 2**34), st.integers(-20, 20))
def test_totp_resync_does_not_go_back_before_an_accepted_step(
    token: Token, now_step: int, drift: int
) -> None:
    s = now_step + drift
    used = TokenState(0, s + 1)  # step s + 1 was already accepted
    with pytest.raises(VerificationError):
        resync(token, used, token.code(s), token.code(s + 1), now=at_step(token, now_step))


# --- formats --------------------------------------------------------------------------------

names = st.text(min_size=1, max_size=20).filter(lambda s: ":" not in s)


@pytest.mark.filterwarnings("ignore::otpgate.otp.keys.ShortKeyWarning")  # 80..127-bit keys drawn
@SETTINGS
@given(names, st.none() | names, keys, counters, st.sampled_from([0, 30, 60, 1]), digit_counts)
def test_uri_round_trip(
    account: str, issuer: str | None, key: bytes, counter: int, step: int, digits: int
) -> None:
    token_type = TokenType("HOTP", step, digits)
    try:
        uri = build_uri(token_type, key, account, issuer, counter)
    except InvalidURI:
        # The only refusal left for these inputs: spaces a reader would strip.
        assert account != account.strip()
        return
    assert uri.isascii() and " " not in uri
    parsed = parse_uri(uri)
    assert (parsed.token_type, parsed.key) == (token_type, key)
    assert (parsed.account, parsed.issuer) == (account, issuer or None)
    assert parsed.counter == (counter if step == 0 else 0)


@SETTINGS
@given(
    st.sampled_from(["HOTP", "MOTP"]),
    st.integers(0, 10**6),
    digit_counts,
    algorithms,
)
def test_token_type_canonical_round_trip(kind: Any, step: int, digits: int, alg: Any) -> None:
    token_type = TokenType(kind, step, digits, alg if kind == "HOTP" else "SHA1")
    text = token_type.canonical()
    parsed = parse_token_type(text)
    assert parsed == token_type and str(parsed) == text


@SETTINGS
@given(keys, st.data())
def test_base32_keys_in_any_case_and_grouping(key: bytes, data: st.DataObject) -> None:
    text = encode_base32(key)
    text += "=" * data.draw(st.sampled_from([0, -len(text) % 8]))
    mixed = "".join(c.lower() if data.draw(st.booleans()) else c for c in text)
    cut = data.draw(st.integers(1, 8))
    grouped = " ".join(mixed[i : i + cut] for i in range(0, len(mixed), cut))
    assert decode_key(grouped, "base32") == key
    assert decode_key(key.hex().upper(), "hex") == key
