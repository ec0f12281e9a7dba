"""Time formats (pure conversions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from framer.router._time import clf, iso_millis, iso_seconds, to_datetime, to_epoch_ms


def test_formats_match_the_captures() -> None:
    assert clf(1731324924553) == "11/Nov/2024:11:35:24 +0000"
    assert iso_millis(1588277433236) == "2020-04-30T20:10:33.236Z"
    assert iso_seconds(datetime(2018, 11, 15, 6, 49, 9, tzinfo=timezone.utc)) == \
        "2018-11-15T06:49:09Z"


def test_iso_seconds_converts_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert iso_seconds(datetime(2018, 11, 15, 8, 49, 9, tzinfo=plus2)) == \
        "2018-11-15T06:49:09Z"


@given(st.integers(0, 4_102_444_800_000))
def test_epoch_round_trip(ms: int) -> None:
    assert to_epoch_ms(to_datetime(ms)) == ms


def test_naive_datetimes_are_utc() -> None:
    assert to_epoch_ms(datetime(1970, 1, 1, 0, 0, 1)) == 1000
