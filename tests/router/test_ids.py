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
