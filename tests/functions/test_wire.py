"""The framing between the server and a worker: what the server's Decoder accepts and refuses."""

from __future__ import annotations

import struct

import pytest

from framer.functions._wire import Decoder, WireError, encode


def test_messages_split_across_reads_come_out_whole_and_in_order() -> None:
    data = encode({"id": 1, "result": "é\u2603"}) + encode({"id": 2, "result": None})
    decoder = Decoder()
    assert decoder.feed(data[:7]) == []
    assert decoder.feed(data[7:-1]) == [{"id": 1, "result": "é\u2603"}]
    assert decoder.feed(data[-1:]) == [{"id": 2, "result": None}]


@pytest.mark.parametrize("body, problem", [
    (b'{"a": "\xff"}', "undecodable message: 'utf-8' codec can't decode byte 0xff"),
    (b'{"a": ', "undecodable message: Expecting value"),
    (b"[1, 2]", "a message must be a JSON object"),
])
def test_a_body_that_is_not_a_json_object_in_utf_8_is_refused(body: bytes, problem: str) -> None:
    with pytest.raises(WireError) as raised:
        Decoder().feed(struct.pack(">I", len(body)) + body)
    assert str(raised.value).startswith(problem)
