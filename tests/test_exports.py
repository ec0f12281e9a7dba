"""The public surface: ``framer.__all__`` is exactly what is meant."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import wsproto.connection
import wsproto.events

import framer

EXPECTED = {
    # framer's own
    "WSConnection",
    "Limits",
    "API_GATEWAY_MAX_FRAME_SIZE",
    "API_GATEWAY_MAX_MESSAGE_SIZE",
    "LocalProtocolError",
    "MessageTooBigError",
    "PerMessageDeflate",
    "ProtocolViolation",
    "RemoteProtocolError",
    "implementation",
    # wsproto's, re-exported so users need one import
    "ConnectionState",
    "ConnectionType",
    "Event",
    "Request",
    "AcceptConnection",
    "RejectConnection",
    "RejectData",
    "Message",
    "TextMessage",
    "BytesMessage",
    "Ping",
    "Pong",
    "CloseConnection",
}

WSPROTO_EVENTS = {
    "Event",
    "Request",
    "AcceptConnection",
    "RejectConnection",
    "RejectData",
    "Message",
    "TextMessage",
    "BytesMessage",
    "Ping",
    "Pong",
    "CloseConnection",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert sorted(framer.__all__) == sorted(EXPECTED)
    assert len(framer.__all__) == len(set(framer.__all__))


def test_every_exported_name_exists() -> None:
    for name in framer.__all__:
        assert getattr(framer, name, None) is not None, name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from framer import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == EXPECTED


def test_events_are_wsprotos_own_classes() -> None:
    for name in WSPROTO_EVENTS:
        assert getattr(framer, name) is getattr(wsproto.events, name), name
    assert framer.ConnectionType is wsproto.connection.ConnectionType
    assert framer.ConnectionState is wsproto.connection.ConnectionState


def test_error_hierarchy() -> None:
    import wsproto.utilities

    assert issubclass(framer.LocalProtocolError, wsproto.utilities.LocalProtocolError)
    assert issubclass(framer.MessageTooBigError, framer.LocalProtocolError)
    assert framer.RemoteProtocolError is wsproto.utilities.RemoteProtocolError


def test_implementation_names_the_active_hot_path() -> None:
    import framer._impl

    assert framer.implementation in ("pure", "compiled")
    compiled = framer.implementation == "compiled"
    module = importlib.import_module("framer._fast" if compiled else "framer._fast_py")
    assert framer._impl.twin is module
    # Each rule has one source: the reader's _reader_py.py, the serializers'
    # _writer_py.py, the open connection's _open_py.py; the compiled twin is
    # those very files compiled (as _reader_c, _writer_c, _open_c).
    suffix = "_c" if compiled else "_py"
    assert module.OpenConnection.__module__ == "framer._open" + suffix
    # WSConnection too: _connection.py, compiled as _connection_c.
    assert framer.WSConnection.__module__ == ("framer._connection_c" if compiled else "framer._connection")
    assert module.FrameReader.__module__ == "framer._reader" + suffix
    for name in ("serialize_frames", "serialize_parts"):
        assert getattr(module, name).__module__ == "framer._writer" + suffix


def _implementation_with(value: str | None) -> str:
    env = dict(os.environ)
    env.pop("FRAMER_NO_EXTENSIONS", None)
    if value is not None:
        env["FRAMER_NO_EXTENSIONS"] = value
    out = subprocess.run(
        [sys.executable, "-c", "import framer; print(framer.implementation)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_no_extensions_switch() -> None:
    default = _implementation_with(None)
    for on in ("1", "true", "YES", " yes "):
        assert _implementation_with(on) == "pure", on
    for off in ("0", "false", "no", ""):
        assert _implementation_with(off) == default, off
