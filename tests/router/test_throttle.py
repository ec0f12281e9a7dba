"""Token buckets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framer.router._throttle import TokenBucket


def test_starts_full_and_empties() -> None:
    bucket = TokenBucket(rate=1, burst=3)
    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]


def test_refills_at_rate_up_to_burst() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    for _ in range(3):
        bucket.take(0)
    assert not bucket.take(499)  # 0.998 tokens
    assert bucket.take(500) and not bucket.take(500)  # exactly 1 at 500 ms
    assert [bucket.take(100_000) for _ in range(4)] == [True, True, True, False]  # capped at 3


def test_time_going_backwards_refills_nothing() -> None:
    bucket = TokenBucket(rate=10, burst=1)
    assert bucket.take(1000)
    assert not bucket.take(500)
    assert bucket.take(1100)


def test_zero_blocks_everything() -> None:
    bucket = TokenBucket(rate=0, burst=0)
    assert not bucket.take(0) and not bucket.take(10**9)


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=-1, burst=1)


@given(rate=st.integers(0, 100), burst=st.integers(0, 50),
       gaps=st.lists(st.integers(0, 2000), max_size=60))
def test_never_admits_more_than_burst_plus_refill(rate: int, burst: int,
                                                  gaps: list[int]) -> None:
    bucket = TokenBucket(rate=rate, burst=burst)
    now = admitted = 0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now)
    assert admitted <= burst + rate * now / 1000 + 1e-9
