"""The demo API driven by real client libraries: websockets and websocket-client."""

from __future__ import annotations

import json

import pytest
import websocket  # websocket-client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from framer.demo import Demo

from .conftest import TIMEOUT, RunningServer, wait_for

KIB = 1024


def test_websockets_client_echo(demo_server: RunningServer) -> None:
    with connect(demo_server.url(), open_timeout=TIMEOUT, close_timeout=2) as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "hello"
        ws.send('{"action": "nosuchroute", "x": 1}')  # no such route: $default echoes
        assert ws.recv(timeout=TIMEOUT) == '{"action": "nosuchroute", "x": 1}'


def test_websocket_client_echo(demo_server: RunningServer) -> None:
    ws = websocket.create_connection(demo_server.url(), timeout=TIMEOUT)
    try:
        ws.send("ping from websocket-client")
        assert ws.recv() == "ping from websocket-client"
    finally:
        ws.close()


def test_chat_between_two_clients(demo_server: RunningServer, demo: Demo) -> None:
    with connect(demo_server.url(), open_timeout=TIMEOUT) as alice:
        bob = websocket.create_connection(demo_server.url(), timeout=TIMEOUT)
        try:
            wait_for(lambda: len(demo.connections) == 2)
            alice.send(json.dumps({"action": "sendmessage", "data": "hi bob"}))
            assert bob.recv() == "hi bob"
            assert alice.recv(timeout=TIMEOUT) == "hi bob"  # broadcast reaches the sender too
            bob.send(json.dumps({"action": "sendmessage", "data": "hi alice"}))
            assert alice.recv(timeout=TIMEOUT) == "hi alice"
            assert bob.recv() == "hi alice"
        finally:
            bob.close()
        # $disconnect forgot bob; a later broadcast still works for alice.
        wait_for(lambda: len(demo.connections) == 1)
        alice.send(json.dumps({"action": "sendmessage", "data": "alone"}))
        assert alice.recv(timeout=TIMEOUT) == "alone"


def test_128k_message_in_four_frames_is_delivered_whole(demo_server: RunningServer) -> None:
    payload = "".join(chr(ord("a") + i % 26) for i in range(128 * KIB))
    ws = websocket.create_connection(demo_server.url(), timeout=TIMEOUT)
    try:
        chunks = [payload[i : i + 32 * KIB] for i in range(0, len(payload), 32 * KIB)]
        assert len(chunks) == 4
        for i, chunk in enumerate(chunks):
            opcode = websocket.ABNF.OPCODE_TEXT if i == 0 else websocket.ABNF.OPCODE_CONT
            ws.send_frame(websocket.ABNF.create_frame(chunk, opcode, fin=int(i == 3)))
        # The echo comes back whole, split by the server into frames of at most 32 KiB.
        frames = []
        while True:
            frame = ws.recv_frame()
            frames.append(frame)
            if frame.fin:
                break
        assert all(len(f.data) <= 32 * KIB for f in frames)
        assert len(frames) == 4
        assert b"".join(f.data for f in frames).decode() == payload
    finally:
        ws.close()


def test_128k_message_with_websockets_fragments(demo_server: RunningServer) -> None:
    payload = "z" * (128 * KIB)
    with connect(demo_server.url(), open_timeout=TIMEOUT, max_size=None) as ws:
        ws.send([payload[i : i + 32 * KIB] for i in range(0, len(payload), 32 * KIB)])
        assert ws.recv(timeout=TIMEOUT) == payload


@pytest.mark.parametrize("fragmented", [False, True], ids=["one-frame", "32k-frames"])
def test_message_over_128k_closes_with_1009(demo_server: RunningServer, demo: Demo, fragmented: bool) -> None:
    payload = "y" * (128 * KIB + 1)
    with connect(demo_server.url(), open_timeout=TIMEOUT) as ws:
        wait_for(lambda: len(demo.connections) == 1)
        if fragmented:
            ws.send([payload[i : i + 32 * KIB] for i in range(0, len(payload), 32 * KIB)])
        else:
            ws.send(payload)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    wait_for(lambda: len(demo.connections) == 0)  # $disconnect ran


def test_binary_frame_closes_with_1003(demo_server: RunningServer) -> None:
    with connect(demo_server.url(), open_timeout=TIMEOUT) as ws:
        ws.send(b"\x00\x01binary")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1003
