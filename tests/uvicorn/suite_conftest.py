"""Installed as ``tests/protocols/conftest.py`` in uvicorn's unpacked sdist by
``run_uvicorn_suite.py``: uvicorn's WebSocket tests then run against framer's
protocol class as well as uvicorn's own two.  Not collected by framer's suite."""

from __future__ import annotations

import importlib.util

import pytest
from uvicorn.importer import import_from_string


@pytest.fixture(
    params=[
        pytest.param(
            "uvicorn.protocols.websockets.wsproto_impl:WSProtocol",
            marks=pytest.mark.skipif(not importlib.util.find_spec("wsproto"), reason="wsproto not installed."),
            id="wsproto",
        ),
        pytest.param("uvicorn.protocols.websockets.websockets_sansio_impl:WebSocketsSansIOProtocol", id="websockets-sansio"),
        pytest.param("framer.uvicorn:FramerWSProtocol", id="framer"),
    ]
)
def ws_protocol_cls(request: pytest.FixtureRequest) -> type:
    return import_from_string(request.param)  # type: ignore[no-any-return]
