"""Token buckets for API Gateway's throttling (reference §6.1, §6.4).

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per
second; each request takes one token or is throttled. Time comes in as epoch
milliseconds: nothing here reads the clock.

A request takes a token from the account bucket (shared by every API of a
``Gateway``) and from its stage's bucket: routes without throttling route
settings share the stage's default bucket, a route with them gets its own.
New connections also take one from the account's new-connection bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ._model import Stage


class TokenBucket:
    """A token bucket that starts full; ``rate`` and ``burst`` are fixed."""

    __slots__ = ("rate", "burst", "_full", "_tokens", "_last_ms")

    def __init__(self, *, rate: float, burst: int) -> None:
        if rate < 0 or burst < 0:
            raise ValueError(f"rate ({rate}) and burst ({burst}) must be >= 0")
        self.rate = float(rate)
        self.burst = int(burst)
        self._full = float(burst)  # burst as the float take() compares with
        self._tokens = self._full
        self._last_ms: int | None = None

    def take(self, now_ms: int, then: Optional[TokenBucket] = None) -> bool:
        """Take one token at ``now_ms``, then one from ``then`` if given (not
        asked when this bucket refuses); ``False`` means throttled.  The bucket
        first gains what ``rate`` gave since the latest time it saw (a time
        earlier than that refills nothing)."""
        last = self._last_ms
        tokens = self._tokens
        if last is None:
            self._last_ms = now_ms
        elif now_ms > last:
            tokens += (now_ms - last) * self.rate / 1000.0
            if tokens > self._full:
                tokens = self._full
            self._last_ms = now_ms
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return then is None or then.take(now_ms)
        self._tokens = tokens
        return False


class AccountBuckets:
    """Account-level throttles (reference §6.1): requests, and new connections
    (a bucket as large as its per-second rate)."""

    __slots__ = ("request", "connect")

    def __init__(self, *, rate: float, burst: int, connections_per_second: float) -> None:
        self.request = TokenBucket(rate=rate, burst=burst)
        self.connect = TokenBucket(rate=connections_per_second,
                                   burst=int(connections_per_second))


@dataclass(frozen=True, slots=True)
class Admission:
    """The buckets a request on one route of one stage takes a token from:
    ``account.take(now_ms, own)`` admits it or throttles it."""

    stage: Stage
    """The stage they were chosen for (stages are replaced, never changed)."""
    account: TokenBucket
    own: Optional[TokenBucket]
    """The stage's or the route's bucket; ``None`` when neither is limited."""


class StageThrottles:
    """The stage and route buckets of one API, and which ones a route uses."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, Optional[str]], TokenBucket] = {}
        self._admissions: dict[tuple[str, str], Admission] = {}

    def admission(self, stage: Stage, route_key: str, account: AccountBuckets) -> Admission:
        """The buckets of ``route_key`` on ``stage``, kept until the stage
        changes (a new ``Stage`` object): they depend only on its settings."""
        key = (stage.stage_name, route_key)
        found = self._admissions.get(key)
        if found is not None and found.stage is stage and found.account is account.request:
            return found
        if len(self._admissions) >= 4096:
            self._admissions.clear()
        made = self._admissions[key] = Admission(
            stage, account.request, self._stage_bucket(stage, route_key))
        return made

    def _stage_bucket(self, stage: Stage, route_key: str) -> Optional[TokenBucket]:
        defaults = stage.default_route_settings
        own = stage.route_settings.get(route_key)
        if own is not None and (own.throttling_burst_limit is not None
                                or own.throttling_rate_limit is not None):
            burst = own.throttling_burst_limit
            rate = own.throttling_rate_limit
            key: tuple[str, Optional[str]] = (stage.stage_name, route_key)
        else:
            burst, rate, key = None, None, (stage.stage_name, None)
        if burst is None:
            burst = defaults.throttling_burst_limit
        if rate is None:
            rate = defaults.throttling_rate_limit
        if burst is None or rate is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self._buckets[key] = TokenBucket(rate=rate, burst=burst)
        return bucket
