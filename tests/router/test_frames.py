"""In-band error frames, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from framer.router._frames import error_frame


def test_forbidden_frame_matches_api_gateway_exactly() -> None:
    assert error_frame("Forbidden", connection_id="XDmENcnwIE0CFEQ=",
                       request_id="XDmGEE2RoE0FRdQ=") == (
        '{"message": "Forbidden", "connectionId":"XDmENcnwIE0CFEQ=", '
        '"requestId":"XDmGEE2RoE0FRdQ="}')


def test_other_messages_use_the_same_layout() -> None:
    frame = error_frame("Endpoint request timed out", connection_id="a", request_id="b")
    assert frame == ('{"message": "Endpoint request timed out", "connectionId":"a", '
                     '"requestId":"b"}')


@given(st.text(), st.text(), st.text())
def test_frames_are_always_valid_json(message: str, cid: str, rid: str) -> None:
    assert json.loads(error_frame(message, connection_id=cid, request_id=rid)) == {
        "message": message, "connectionId": cid, "requestId": rid}
