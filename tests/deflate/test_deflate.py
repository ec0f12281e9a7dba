"""framer._deflate: RFC 7692 against zlib itself and against wsproto's PerMessageDeflate as the peer."""

from __future__ import annotations

import random
import tracemalloc
import zlib

import pytest
import wsproto
import wsproto.extensions
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Request,
    TextMessage,
)

from framer._deflate import (
    DecompressionError,
    INPUT_SLICE,
    DeflateParameters,
    Deflater,
    Inflater,
    PerMessageDeflate,
)

TAIL = b"\x00\x00\xff\xff"
TEXT = "the quick brown fox jumps over the lazy dog; " * 40


def raw_deflate(data: bytes, bits: int = 15) -> bytes:
    """What any RFC 7692 sender puts on the wire for one message: zlib, tail removed."""
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


# -- Deflater and Inflater against zlib ------------------------------------------


def test_deflater_output_is_raw_deflate_without_the_sync_tail() -> None:
    noise = random.Random(7).randbytes(2000)  # incompressible on its own
    deflater = Deflater(15, no_context_takeover=False)
    first = deflater.compress(noise)
    assert not first.endswith(TAIL)
    z = zlib.decompressobj(-15)
    assert z.decompress(first + TAIL) == noise
    # Context takeover: the second copy refers back to the first and is tiny.
    second = deflater.compress(noise)
    assert len(second) < len(first) // 10
    assert z.decompress(second + TAIL) == noise


def test_deflater_without_context_takeover_compresses_each_message_alone() -> None:
    deflater = Deflater(10, no_context_takeover=True)
    first = deflater.compress(TEXT.encode())
    second = deflater.compress(TEXT.encode())
    assert first == second
    assert zlib.decompressobj(-10).decompress(second + TAIL) == TEXT.encode()


def test_deflater_in_parts_equals_the_whole_message() -> None:
    deflater = Deflater(15, no_context_takeover=True)
    parts = deflater.compress(TEXT[:100].encode(), fin=False) + deflater.compress(TEXT[100:].encode())
    assert zlib.decompressobj(-15).decompress(parts + TAIL) == TEXT.encode()


def test_inflater_reads_what_zlib_wrote_across_frames() -> None:
    wire = raw_deflate(TEXT.encode())
    inflater = Inflater(15, no_context_takeover=False, max_message_size=len(TEXT))
    out = b"".join(inflater.feed(wire[i : i + 7]) for i in range(0, len(wire), 7))
    assert out + inflater.finish() == TEXT.encode()


def test_inflater_limit_at_its_exact_boundary() -> None:
    data = b"a" * 1000
    exact = Inflater(15, no_context_takeover=True, max_message_size=1000)
    assert exact.feed(raw_deflate(data)) + exact.finish() == data
    over = Inflater(15, no_context_takeover=True, max_message_size=999)
    with pytest.raises(DecompressionError) as err:
        over.feed(raw_deflate(data))
        over.finish()
    assert err.value.violation.code == 1009
    assert "max_message_size=999" in err.value.violation.reason


def test_a_decompression_bomb_costs_at_most_the_message_limit() -> None:
    """1 MiB of deflated zeros announcing 1 GiB, against a 128 KiB limit.

    What is held, whatever the bomb announces: the limit's worth of output
    (twice, for a moment, while CPython's zlib joins its output blocks into
    one bytes), and one input slice that zlib keeps back."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(z.compress(chunk) for _ in range(1024)) + z.flush(zlib.Z_SYNC_FLUSH)[:-4]
    assert len(bomb) <= 1100 * 1024  # about 1 MiB on the wire
    limit = 128 * 1024
    inflater = Inflater(15, no_context_takeover=False, max_message_size=limit)
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionError) as err:
            inflater.feed(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.violation.code == 1009
    assert peak < 2 * limit + INPUT_SLICE + 64 * 1024, peak


def test_corrupt_compressed_data_is_1007() -> None:
    inflater = Inflater(15, no_context_takeover=False, max_message_size=100)
    with pytest.raises(DecompressionError) as err:
        inflater.feed(b"\xff\xff\xff\xff")
    assert err.value.violation.code == 1007


def test_a_final_block_ends_the_context_and_the_next_message_starts_fresh() -> None:
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    final = z.compress(b"one") + z.flush(zlib.Z_FINISH)
    inflater = Inflater(15, no_context_takeover=False, max_message_size=100)
    assert inflater.feed(final) + inflater.finish() == b"one"
    assert inflater.feed(raw_deflate(b"two")) + inflater.finish() == b"two"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Deflater(16, False), "window_bits must be between 9 and 15, got 16"),
        (lambda: Inflater(8, False, 10), "window_bits must be between 9 and 15, got 8"),
        (lambda: Inflater(15, False, 0), "max_message_size must be at least 1, got 0"),
    ],
)
def test_bad_arguments_name_the_problem(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


# -- negotiation -------------------------------------------------------------------


def test_parameters_round_trip_through_the_header() -> None:
    params = DeflateParameters.parse(
        'permessage-deflate; server_no_context_takeover; client_max_window_bits; server_max_window_bits="10"'
    )
    assert params == DeflateParameters(
        server_no_context_takeover=True, server_max_window_bits=10, client_max_window_bits=True
    )
    assert DeflateParameters.parse("permessage-deflate; " + params.header()) == params


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("permessage-deflate; foo", "unknown permessage-deflate parameter 'foo'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "appears twice"),
        ("permessage-deflate; client_no_context_takeover=1", "takes no value"),
        ("permessage-deflate; server_max_window_bits", "needs a value"),
        ("permessage-deflate; server_max_window_bits=8", "between 9 and 15, got 8"),
        ("permessage-deflate; client_max_window_bits=16", "between 9 and 15, got 16"),
        ("permessage-deflate; client_max_window_bits=ten", "is not a number"),
        ("x-webkit-deflate-frame", "not a permessage-deflate extension"),
    ],
)
def test_parse_rejects_what_rfc_7692_forbids(header: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DeflateParameters.parse(header)


def test_server_declines_an_invalid_offer_and_answers_a_valid_one() -> None:
    server = PerMessageDeflate()
    assert server.accept("permessage-deflate; server_max_window_bits=8") is None
    assert not server.enabled()
    assert server.accept("permessage-deflate; client_max_window_bits") == ""
    assert server.enabled()
    assert server.agreed == DeflateParameters()


def test_server_takes_the_offers_limits_and_adds_its_own() -> None:
    server = PerMessageDeflate(server_no_context_takeover=True, client_max_window_bits=12)
    response = server.accept("permessage-deflate; server_max_window_bits=10; client_max_window_bits")
    assert response == "server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
    # A server that requires a client window limit declines an offer that cannot take one.
    assert PerMessageDeflate(client_max_window_bits=12).accept("permessage-deflate") is None


def test_client_rejects_a_response_that_breaks_its_offer() -> None:
    client = PerMessageDeflate(server_max_window_bits=10)
    with pytest.raises(ValueError, match="over the 10 offered"):
        client.finalize("permessage-deflate; server_max_window_bits=12")
    with pytest.raises(ValueError, match="needs a value"):
        client.finalize("permessage-deflate; client_max_window_bits")
    client.finalize("permessage-deflate; server_max_window_bits=9")
    assert client.agreed == DeflateParameters(server_max_window_bits=9)


# -- against wsproto's PerMessageDeflate, through wsproto's extensions= ------------------


def handshake(
    client_ext: wsproto.extensions.Extension, server_ext: wsproto.extensions.Extension
) -> tuple[wsproto.WSConnection, wsproto.WSConnection]:
    client = wsproto.WSConnection(ConnectionType.CLIENT)
    server = wsproto.WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="localhost", target="/", extensions=[client_ext])))
    request = next(server.events())
    assert isinstance(request, Request)
    client.receive_data(server.send(AcceptConnection(extensions=[server_ext])))
    accepted = next(client.events())
    assert isinstance(accepted, AcceptConnection)
    assert client_ext.enabled() and server_ext.enabled()
    return client, server


def transfer(sender: wsproto.WSConnection, receiver: wsproto.WSConnection, event: Event) -> list[Event]:
    wire = sender.send(event)
    receiver.receive_data(wire)
    return list(receiver.events())


def whole(events: list[Event]) -> str | bytes:
    messages = [e for e in events if isinstance(e, Message)]
    assert messages and messages[-1].message_finished
    first = messages[0].data
    return type(first)().join(m.data for m in messages)  # type: ignore[no-any-return]


SETTINGS = [
    {},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 9, "client_max_window_bits": 10},
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("framer_side", ["server", "client"])
def test_framer_and_wsproto_exchange_compressed_messages(settings: dict[str, object], framer_side: str) -> None:
    ours = PerMessageDeflate(**settings)  # type: ignore[arg-type]
    theirs = wsproto.extensions.PerMessageDeflate(**settings)  # type: ignore[arg-type]
    if framer_side == "server":
        client, server = handshake(theirs, ours)
    else:
        client, server = handshake(ours, theirs)
    for n in range(3):  # several messages: context takeover (or not) across them
        assert whole(transfer(client, server, TextMessage(data=TEXT + str(n)))) == TEXT + str(n)
        assert whole(transfer(server, client, BytesMessage(data=TEXT.encode() * n))) == TEXT.encode() * n
    # A message sent in fragments compresses as one.
    client.send(TextMessage(data=TEXT[:50], message_finished=False))
    wire = client.send(TextMessage(data=TEXT[50:], message_finished=True))
    assert wire  # the last fragment carries the rest of the stream


def test_a_wsproto_peers_oversized_compressed_message_closes_with_1009() -> None:
    ours = PerMessageDeflate(max_message_size=1000)
    client, server = handshake(wsproto.extensions.PerMessageDeflate(), ours)
    assert whole(transfer(client, server, BytesMessage(data=b"b" * 1000))) == b"b" * 1000
    events = transfer(client, server, BytesMessage(data=b"b" * 1001))
    assert [type(e) for e in events] == [CloseConnection]
    assert events[0].code == 1009  # type: ignore[attr-defined]


def test_parameters_reject_a_window_of_one_bit() -> None:
    # 1 == True in Python: the "offered without a value" marker must be True itself.
    with pytest.raises(ValueError, match="between 9 and 15, got 1"):
        DeflateParameters(client_max_window_bits=1)
