"""Time formats API Gateway uses. Pure conversions: nothing here reads the clock."""

from __future__ import annotations

from datetime import datetime, timezone

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_datetime(now_ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc)


def to_epoch_ms(when: datetime) -> int:
    """An aware datetime to epoch milliseconds (naive values are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = when - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def iso_seconds(when: datetime) -> str:
    """``2018-11-15T06:49:09Z``: the control plane's date form (CLI and wire)."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch_ms: int) -> str:
    """``2020-04-30T20:10:33.236Z``: the @connections GetConnection form."""
    when = to_datetime(epoch_ms)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


_clf_last: tuple[int, str] = (-1 << 64, "")
"""The last second ``clf`` formatted and its text: every message of a second
shares it (replaced as one tuple, so threads see a consistent pair)."""


def clf(epoch_ms: int) -> str:
    """``11/Nov/2024:11:35:24 +0000``: ``requestContext.requestTime``."""
    global _clf_last
    second = epoch_ms // 1000
    last = _clf_last
    if last[0] == second:
        return last[1]
    when = to_datetime(epoch_ms)
    text = (f"{when.day:02d}/{_MONTHS[when.month - 1]}/{when.year:04d}:"
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} +0000")
    _clf_last = (second, text)
    return text
