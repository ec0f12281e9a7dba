"""``Quotas``: the account's API Gateway limits the ``Gateway`` enforces.

Each default is API Gateway's WebSocket quota (reference §6.1); all of them
may be changed, as most can be raised in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Quotas:
    """API Gateway's WebSocket quotas (reference §6.1); all adjustable here."""

    max_stages_per_api: int = 10
    """Stages per API: 10 (increasable in AWS)."""
    max_routes_per_api: int = 300
    max_integrations_per_api: int = 300
    max_authorizers_per_api: int = 10
    max_stage_variables: int = 100
    """Stage variables per stage (HTTP API quota table; WebSocket's is unpublished)."""
    account_rate_limit: float = 10_000.0
    """Account-level steady rate, requests per second (all APIs)."""
    account_burst_limit: int = 5_000
    """Account-level token bucket size."""
    new_connections_per_second: float = 500.0
    """New WebSocket connections per second per account (bucket size the same)."""
