"""Guessing spread over 1,000 addresses, for a simulated day (issue 9, must show).

Before the per-user budget, each (user, address) pair was throttled on its
own: about 39 evaluated guesses per hour per address, so 1,000 addresses made
about 39,000 an hour, and with a known PIN a 6-digit TOTP (window ±1: three
codes right at any time) fell in about 8.5 hours.  Now every untrusted client
shares one budget per user (100 failures a day by default), while the
rightful user, from an address that logged in before or a browser with a
device cookie, keeps a budget of their own and gets in all day.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any

from otpgate.login.authenticator import Authenticator, AuthSettings
from otpgate.otp.tokens import parse_token_type
from otpgate.otp.verify import generate
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

T0 = 1_700_000_010.0
DAY = 86_400.0
KEY = bytes(range(1, 21))
PIN = "4711"
HOME = "192.0.2.10"
PHONE = "phone-device-nonce"  # what the front end hands over for a genuine device cookie
ADDRESSES = 1000
# An attacker comes back after Retry-After, but at least every 15 minutes.
PATIENCE = 900.0


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, username: str) -> Any:
        self.gets += 1
        return super().get(username)


def _code(store: MemoryStore, now: float) -> str:
    record = store.get("alice")
    assert record is not None
    return generate(record.token(), now=now)


USED: set[str] = set()  # codes the rightful user typed (they may still linger)
RIGHT: dict[int, set[str]] = {}  # time step -> the codes right then


def _wrong(store: MemoryStore, now: float, n: int) -> str:
    """A guess that is neither one of the three codes right at ``now`` nor a lingering one."""
    step = int(now // 30)
    if step not in RIGHT:
        RIGHT.clear()
        RIGHT[step] = {_code(store, now + d) for d in (-30, 0, 30)}
    right = RIGHT[step] | USED
    guess = f"{n * 7919 % 10**6:06d}"
    while guess in right:
        guess = f"{(int(guess) + 1) % 10**6:06d}"
    return guess


def test_a_thousand_addresses_for_a_day_stay_within_the_budget() -> None:
    store = CountingStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", ttype, KEY, Pin("plain", PIN), UserState()))
    clock = [T0]
    settings = AuthSettings()
    a = Authenticator(store, settings, clock=lambda: clock[0])

    def rightful(now: float, ip: str, device: str | None = None) -> Any:
        USED.add(_code(store, now))
        password = PIN + _code(store, now)
        return a.login(a.attempt("alice", password, ip, device=device), now=now)

    # Before the attack: alice logs in from home, and once from her phone's
    # browser (the front end then gives it a device cookie).
    assert rightful(T0, HOME).reason == "otp"
    assert rightful(T0 + 30, "203.0.113.77", device=PHONE).reason == "otp"

    start = T0 + 60
    attackers = [f"10.{i // 250}.{i % 250}.66" for i in range(ADDRESSES)]
    queue = [(start + i / ADDRESSES, i) for i in range(ADDRESSES)]
    heapq.heapify(queue)
    reasons: Counter[str] = Counter()
    evaluated_at: list[float] = []
    # A minute in (the budget is spent by then), then every hour.
    checks = [start + 60.0] + [start + h * 3600.0 for h in range(1, 24)]
    logged_in = 0
    gets_for_refusals = 0
    n = 0
    while queue:
        now, i = heapq.heappop(queue)
        if now >= start + DAY:
            continue
        while checks and checks[0] <= now:
            at = checks.pop(0)
            # The rightful user, from home and from the phone on whatever
            # network it is on, gets in at every hour of the attack.
            home = rightful(at, HOME)
            phone = rightful(at + 30, f"198.51.100.{len(checks)}", device=PHONE)
            assert home.ok and home.reason == "otp", (at - start, home)
            assert phone.ok and phone.reason == "otp", (at - start, phone)
            logged_in += 2
        n += 1
        guess = PIN + _wrong(store, now, n)
        before = store.gets
        d = a.login(a.attempt("alice", guess, attackers[i]), now=now)
        reasons[d.reason] += 1
        assert not d.ok
        if d.reason in ("no_match", "bad_pin"):
            evaluated_at.append(now)
        elif d.reason == "throttled":
            gets_for_refusals += store.gets - before
        wait = d.retry_after if d.retry_after is not None else 1.0
        heapq.heappush(queue, (now + min(max(wait, 1.0), PATIENCE), i))

    assert logged_in == 48
    # All attackers together: at most the budget in the whole day ...
    assert len(evaluated_at) <= settings.guess_budget, reasons
    # ... though they tried tens of thousands of times; each refusal cost no
    # store read (and so no PIN hash).
    assert reasons["throttled"] > 50 * ADDRESSES, reasons
    assert gets_for_refusals == 0
    # The budget is a day's: the first 100 went at once, and the next ones
    # only come back as the first leave the window.
    assert evaluated_at[-1] - evaluated_at[0] < 60.0


def test_a_new_address_without_a_device_cookie_waits_while_the_budget_is_spent() -> None:
    store = CountingStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", ttype, KEY, Pin("plain", PIN), UserState()))
    a = Authenticator(store, AuthSettings(guess_budget=10), clock=lambda: T0)
    assert a.login(a.attempt("alice", PIN + _code(store, T0), HOME), now=T0).reason == "otp"
    now = T0 + 30
    for i in range(10):
        d = a.login(a.attempt("alice", PIN + _wrong(store, now, i), f"10.0.0.{i}"), now=now)
        assert d.reason == "no_match"
    right = PIN + _code(store, now)
    # The price of the scheme: a first login from a new place, with the right
    # code, waits too (429 with Retry-After) until the window frees a guess;
    # the refusal costs no store read.
    gets = store.gets
    d = a.login(a.attempt("alice", right, "203.0.113.5"), now=now)
    assert (d.ok, d.reason) == (False, "throttled")
    assert d.retry_after is not None and d.retry_after > DAY - 60
    # The API's ip field names an address, it does not prove it: claiming
    # alice's home address does not make a client trusted.
    d = a.login(a.attempt("alice", right, HOME, proven=False), now=now)
    assert d.reason == "throttled"
    assert store.gets == gets
    # From home itself, she gets in.
    assert a.login(a.attempt("alice", right, HOME), now=now).reason == "otp"


def test_every_gate_process_keeps_the_user_in_from_where_they_logged_in() -> None:
    # serve --workers 2: each process has its own budget and its own memory
    # of addresses; the store's last address is what they share.
    store = CountingStore()
    ttype = parse_token_type("HOTP/T30")
    store.add(UserRecord("alice", ttype, KEY, Pin("plain", PIN), UserState()))
    first, second = (Authenticator(store, AuthSettings(guess_budget=10)) for _ in range(2))
    assert first.login(first.attempt("alice", PIN + _code(store, T0), HOME), now=T0).reason == "otp"
    now = T0 + 30
    for i in range(30):
        second.login(second.attempt("alice", PIN + _wrong(store, now, i), f"10.0.1.{i}"), now=now)
    assert (
        second.login(second.attempt("alice", PIN + "000000", "10.0.2.1"), now=now).reason
        == "throttled"
    )
    # The second process never saw alice log in, but read where she did.
    d = second.login(second.attempt("alice", PIN + _code(store, now), HOME), now=now)
    assert d.reason == "otp"
