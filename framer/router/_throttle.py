"""Token buckets for API Gateway's throttling (reference §6.1, §6.4).

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per
second; each request takes one token or is throttled. Time comes in as epoch
milliseconds: nothing here reads the clock.
"""

from __future__ import annotations


class TokenBucket:
    """A token bucket that starts full."""

    __slots__ = ("rate", "burst", "_tokens", "_last_ms")

    def __init__(self, *, rate: float, burst: int) -> None:
        if rate < 0 or burst < 0:
            raise ValueError(f"rate ({rate}) and burst ({burst}) must be >= 0")
        self.rate = float(rate)
        self.burst = int(burst)
        self._tokens = float(burst)
        self._last_ms: int | None = None

    def _refill(self, now_ms: int) -> None:
        if self._last_ms is not None and now_ms > self._last_ms:
            gained = (now_ms - self._last_ms) * self.rate / 1000.0
            self._tokens = min(float(self.burst), self._tokens + gained)
        if self._last_ms is None or now_ms > self._last_ms:
            self._last_ms = now_ms

    def available(self, now_ms: int) -> float:
        """Tokens available at ``now_ms`` (a time earlier than the last one seen
        refills nothing)."""
        self._refill(now_ms)
        return self._tokens

    def take(self, now_ms: int) -> bool:
        """Take one token at ``now_ms``; ``False`` means throttled."""
        # _refill, inlined: this runs on every message.
        last = self._last_ms
        tokens = self._tokens
        if last is None:
            self._last_ms = now_ms
        elif now_ms > last:
            tokens = min(float(self.burst), tokens + (now_ms - last) * self.rate / 1000.0)
            self._last_ms = now_ms
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False
