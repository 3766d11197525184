"""The per (user, address) throttle table."""

from __future__ import annotations

import pytest

from otpgate.regulation.throttle import Throttle

T = 1000.0


def test_free_failures_then_doubling_backoff_with_a_cap() -> None:
    th = Throttle(free_failures=3, base=1.0, cap=10.0)
    delays = [th.failure("u", "ip", T) for _ in range(8)]
    assert delays == [None, None, None, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert th.retry_after("u", "ip", T) == 10.0
    assert th.retry_after("u", "ip", T + 9.5) == pytest.approx(0.5)
    assert th.retry_after("u", "ip", T + 10) is None


def test_pairs_are_independent() -> None:
    th = Throttle(free_failures=0, base=5.0)
    th.failure("u", "a", T)
    assert th.retry_after("u", "a", T) == 5.0
    assert th.retry_after("u", "b", T) is None
    assert th.retry_after("v", "a", T) is None


def test_success_clears_and_quiet_pairs_are_forgotten() -> None:
    th = Throttle(free_failures=0, base=1.0, cap=60.0)
    th.failure("u", "a", T)
    th.success("u", "a")
    assert th.failures("u", "a") == 0
    th.failure("u", "a", T)
    th.failure("u", "a", T + 1)
    assert th.failures("u", "a") == 2
    # Quiet for the cap after the last failure: the count starts over.
    assert th.retry_after("u", "a", T + 62) is None
    assert len(th) == 0
    assert th.failure("u", "a", T + 62) == 1.0


def test_table_is_bounded() -> None:
    th = Throttle(free_failures=2, max_entries=100)
    for i in range(10_000):
        th.failure(f"user{i}", f"10.0.{i // 250}.{i % 250}", T)
    assert len(th) == 100
    assert th.failures("user9999", "10.0.39.249") == 1
    assert th.failures("user0", "10.0.0.0") == 0


def test_one_address_holds_a_bounded_number_of_names() -> None:
    th = Throttle(free_failures=0, max_entries=100, names_per_address=10)
    for i in range(10_000):
        th.failure(f"user{i}", "ip", T)
    assert len(th) == 11  # ten names of its own and the shared entry
    # Names past the tenth share one entry: 9,990 failures, one backoff.
    assert th.failures("user9999", "ip") == 9_990
    assert th.retry_after("never-tried", "ip", T) == 900.0
    assert th.failures("user0", "ip") == 1
    th.success("user9999", "ip")  # one name's success frees no other name
    assert th.retry_after("never-tried", "ip", T) == 900.0
    assert th.blocked(T).keys() == {f"user{i}" for i in range(10)}


def test_huge_failure_counts_do_not_overflow() -> None:
    th = Throttle(free_failures=0, base=1.0, cap=900.0)
    for _ in range(2000):
        delay = th.failure("u", "a", T)
    assert delay == 900.0


def test_blocked_summary_and_validation() -> None:
    th = Throttle(free_failures=0, base=5.0)
    th.failure("u", "a", T)
    th.failure("u", "b", T + 1)
    assert th.blocked(T + 2) == {"u": T + 6}
    with pytest.raises(ValueError):
        Throttle(free_failures=-1)


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() -> None:
    th = Throttle(free_failures=0, base=5.0)
    th.failure("u", "2001:db8:1:2::1", T)
    # Another address of the same /64 is the same machine.
    assert th.retry_after("u", "2001:db8:1:2:ffff::9", T) == 5.0
    assert th.retry_after("u", "2001:db8:1:3::1", T) is None
    th.failure("u", "::ffff:192.0.2.1", T)
    assert th.retry_after("u", "192.0.2.1", T) == 5.0
    th.success("u", "2001:db8:1:2::77")
    assert th.retry_after("u", "2001:db8:1:2::1", T) is None
    # Not an address: counted as given.
    th.failure("u", "not:an:address", T)
    assert th.retry_after("u", "not:an:address", T) == 5.0
    with pytest.raises(ValueError):
        Throttle(ipv6_prefix=129)
