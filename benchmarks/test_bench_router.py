"""Router benchmark: the message step alone, no sockets, no event loop.

One ``Router`` over an in-memory ``Gateway`` (API Gateway's demo shape:
``$request.body.action`` selects the route), one open connection, and a
batch of 1000 messages per round, each driven as framer's server drives it:
``Connection.receive_text`` returns an ``Invoke`` whose ``lambda_call`` the
driver runs inline, then ``Invoke.returned`` gives the ``Reply``.  Throttling
is raised out of reach (still checked on every message, never refusing), so
every reply is checked.

- echo: non-JSON text to a two-way ``$default`` route whose handler echoes
  the body (framer's demo echo, the server benchmark's workload);
- action: ``{"action": "send", ...}`` to a one-way custom route.

``extra_info["messages_per_s"]`` is the figure; there is no peer in the same
run, so compare two trees by running this file against each, alternately
(the machine's load moves between runs).

Run:   pytest benchmarks/test_bench_router.py --benchmark-disable-gc
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from framer.router import Gateway, Invoke, Quotas, Reply, Router

BATCH = 1000
NOW_MS = 1731324924553
ECHO_TEXT = "x" * 64
ACTION_TEXT = '{"action": "send", "data": "' + "y" * 34 + '"}'


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": event["body"]}


def _send(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200}


def _open_connection() -> Any:
    gw = Gateway(clock=lambda: datetime(2024, 1, 1, tzinfo=timezone.utc))  # ids as served
    gw.quotas = Quotas(account_rate_limit=1e9, account_burst_limit=10**9,
                       new_connections_per_second=1e6)
    api = gw.create_api(name="bench", route_selection_expression="$request.body.action")
    for key, handler, two_way in (("$default", _echo, True), ("send", _send, False)):
        integration = gw.create_integration(api.api_id, integration_type="AWS_PROXY",
                                            handler=handler)
        route = gw.create_route(
            api.api_id, route_key=key, target=f"integrations/{integration.integration_id}",
            route_response_selection_expression="$default" if two_way else None)
        if two_way:
            gw.create_route_response(api.api_id, route.route_id, route_response_key="$default")
    gw.create_stage(api.api_id, "dev", default_route_settings={
        "throttlingBurstLimit": 10**9, "throttlingRateLimit": 1e9})
    gw.create_deployment(api.api_id, stage_name="dev")
    router = Router(gw, api.api_id)
    step = router.connect(path="/dev", headers=[("Host", "localhost")],
                          source_ip="127.0.0.1", now_ms=NOW_MS)
    return step.connection


def _batch(conn: Any, text: str) -> Callable[[], list[Reply]]:
    def run() -> list[Reply]:
        replies = []
        now_ms = NOW_MS
        for _ in range(BATCH):
            now_ms += 1
            step = conn.receive_text(text, now_ms=now_ms)
            if type(step) is Invoke:
                call = step.lambda_call
                step = step.returned(call[0](call[1], call[2]))
            replies.append(step)
        return replies
    return run


@pytest.mark.parametrize("case, text, frames", [
    ("echo", ECHO_TEXT, (ECHO_TEXT,)),
    ("action", ACTION_TEXT, ()),
], ids=["echo", "action"])
def test_router_message_step(benchmark: Any, case: str, text: str,
                             frames: tuple[str, ...]) -> None:
    conn = _open_connection()
    run = _batch(conn, text)
    replies = run()  # checked once, outside the timing
    assert len(replies) == BATCH
    assert all(type(r) is Reply and r.frames == frames for r in replies)
    benchmark.group = "router message step"
    replies = benchmark(run)
    assert len(replies) == BATCH
    benchmark.extra_info["messages_per_s"] = round(BATCH / benchmark.stats.stats.median)
