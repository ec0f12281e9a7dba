"""Every rule of ``framer conform`` fails against a server that breaks it, and only
for what that server did: no row can pass for the wrong reason."""

from __future__ import annotations

import asyncio

import pytest

from framer import conform

from .broken import BrokenServer

RULES = ["frame-32768", "frame-32769", "message-131072", "message-131073", "binary",
         "invalid-utf8", "ping", "close"]


def rows(url: str) -> dict[str, conform.RuleResult]:
    return {r.rule: r for r in asyncio.run(conform.run(url, api_gateway=True, timeout=2))}


def test_a_server_that_breaks_nothing_passes_every_rule() -> None:
    with BrokenServer(None) as server:
        results = rows(server.url)
    assert list(results) == RULES
    assert [r for r in results.values() if not r.passed] == []


@pytest.mark.parametrize("defect, rule, seen", [
    ("frame-limit-off-by-one", "frame-32768", "closed with 1009 'frame too big'"),
    ("accepts-big-frames", "frame-32769", "accepted: still answering (pong after"),
    ("message-limit-off-by-one", "message-131072", "closed with 1009 'message too big'"),
    ("accepts-big-messages", "message-131073", "accepted: still answering (pong after"),
    ("accepts-binary", "binary", "accepted: still answering (pong after"),
    ("echoes-invalid-utf8", "invalid-utf8", "echoed invalid UTF-8 (text message of 10 bytes b'conform \\xff\\xfe')"),
    ("wrong-pong", "ping", "pong with another payload b'wrong', then no answer within 2.0 s"),
    ("close-keeps-tcp", "close", "closed with 1000, but the TCP connection stayed open 2 s"),
])
def test_each_rule_fails_against_the_server_that_breaks_it(defect: str, rule: str, seen: str) -> None:
    with BrokenServer(defect) as server:
        results = rows(server.url)
    assert not results[rule].passed
    assert results[rule].seen.startswith(seen), results[rule]
    if defect in ("frame-limit-off-by-one", "wrong-pong"):
        # Its 32768-byte frames also fill the 131072-byte message; without pongs nothing looks accepted.
        return
    assert [r.rule for r in results.values() if not r.passed] == [rule]


def test_the_echoed_invalid_utf8_is_not_hidden_by_a_close_the_prober_made() -> None:
    """The false pass of issue 16: the echo fails the row even though no close came from the server."""
    with BrokenServer("echoes-invalid-utf8") as server:
        row = rows(server.url)["invalid-utf8"]
    assert "closed with 1007" not in row.seen
    assert "; then accepted: still answering" in row.seen
