"""Identifier formats."""

from __future__ import annotations

import random
import re

from hypothesis import given
from hypothesis import strategies as st

from framer.router import is_valid_connection_id
from framer.router._ids import IdSource


@given(st.integers(0, 2**32))
def test_wire_ids_are_16_url_safe_chars_ending_in_equals(seed: int) -> None:
    value = IdSource(random.Random(seed)).wire_id()
    assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", value)
    assert is_valid_connection_id(value)


def test_other_id_shapes() -> None:
    ids = IdSource(random.Random(7))
    assert re.fullmatch(r"[a-z0-9]{10}", ids.api_id())
    assert re.fullmatch(r"[a-z0-9]{6}", ids.deployment_id())
    assert re.fullmatch(r"[a-z0-9]{7}", ids.resource_id())
    assert re.fullmatch(r"[0-9a-f]{24}", ids.hex(24))


def test_seeded_sources_repeat() -> None:
    assert IdSource(random.Random(1)).wire_id() == IdSource(random.Random(1)).wire_id()


def test_connection_id_check() -> None:
    assert is_valid_connection_id("HXT_RfBnPHcCIIg=")
    assert not is_valid_connection_id("HXT_RfBnPHcCIIg")
    assert not is_valid_connection_id("HXT+RfBnPHcCIIg=")
    assert not is_valid_connection_id("")


def test_connection_id_check_refuses_a_trailing_newline() -> None:
    # A "$"-anchored pattern would match before the final "\n".
    assert is_valid_connection_id("A" * 15 + "=")
    assert not is_valid_connection_id("A" * 15 + "=\n")
    assert not is_valid_connection_id("\n" + "A" * 15 + "=")
    assert not is_valid_connection_id("A" * 14 + "=")
    assert not is_valid_connection_id("A" * 16 + "=")


def test_message_ids_are_the_one_at_a_time_formats_of_their_bytes() -> None:
    """The batch (``_refill``) lays out exactly what ``wire_id`` and a UUID of
    the same bytes would be, for every message of the batch."""
    import os
    import uuid

    from framer.router._ids import _DRAWS, _b64url

    drawn: list[bytes] = []

    def urandom(n: int) -> bytes:
        drawn.append(os.urandom(n))
        return drawn[-1]

    ids = IdSource()
    ids._urandom = urandom
    batch = [ids.message_ids() for _ in range(_DRAWS)]
    wire, lambda_ids = drawn
    for k, (request_id, message_id, aws_request_id) in enumerate(batch):
        assert request_id == _b64url(wire[24 * k:24 * k + 11])
        assert message_id == _b64url(wire[24 * k + 12:24 * k + 23])
        assert aws_request_id == str(uuid.UUID(bytes=lambda_ids[16 * k:16 * k + 16]))
    ids.message_ids()
    assert len(drawn) == 4  # the next message starts a new batch


def test_message_ids_stay_unique_and_well_formed_across_batches() -> None:
    ids = IdSource()
    seen: set[str] = set()
    for _ in range(1000):
        request_id, message_id, aws_request_id = ids.message_ids()
        assert is_valid_connection_id(request_id) and is_valid_connection_id(message_id)
        assert aws_request_id is not None
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            aws_request_id)
        seen.update((request_id, message_id, aws_request_id))
    assert len(seen) == 3000


def test_threads_never_share_message_ids() -> None:
    import threading

    ids = IdSource()
    results: list[list[tuple[str, str, str | None]]] = [[] for _ in range(4)]

    def take(out: list[tuple[str, str, str | None]]) -> None:
        for _ in range(2000):
            out.append(ids.message_ids())

    threads = [threading.Thread(target=take, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for out in results for triple in out for value in triple]
    assert len(every) == len(set(every)) == 3 * 4 * 2000


def test_seeded_message_ids_are_two_wire_ids() -> None:
    a, b = IdSource(random.Random(5)), IdSource(random.Random(5))
    assert a.message_ids() == (b.wire_id(), b.wire_id(), None)
