"""framer: Amazon API Gateway's WebSocket runtime, reproduced.

The core is a sans-IO WebSocket engine with wsproto's interface that enforces
API Gateway's framing rules (32 KiB frames, 128 KiB messages, text only) and
delivers whole messages.  ``framer.implementation`` says whether the compiled
hot path (``"compiled"``) or its pure-Python twin (``"pure"``) is active.

Modules:

* ``_connection``: ``WSConnection``, the opening handshake; it then delegates to the open connection;
  compiled through ``_connection_c.pxd`` as ``framer._connection_c``, the compiled twin's class;
* ``_open_py``: ``OpenConnection``, the connection once open (its state machine, what is sent
  when, the order of events), written once: the pure twin's, and compiled by Cython through
  ``_open_c.pxd`` as the compiled twin's (``framer._open_c``);
* ``_reader_py``: the frame reader's rules, written once in the same way (``_reader_c.pxd``,
  ``framer._reader_c``);
* ``_writer_py``: the send side's frame rules (serializers), written once in the same way
  (``_writer_c.pxd``, ``framer._writer_c``);
* ``_fast_py``: the pure twin's interface (the names above, and masking), the reference;
* ``_fast`` (``_fast.pyx``, typed by ``_fast.pyi``): the compiled twin's, the same names compiled;
* ``_kernels_py``/``_kernels_c``: the byte kernels the reader's and writer's rules call
  (unmasking, UTF-8, the message buffer, events, laying frames out), in Python and in C
  over ``_kernels.c``;
* ``_kernels.c``/``_kernels.h``: the compiled twin's C byte kernels (XOR, UTF-8);
* ``_close_frame``: the close frame's rules, for both twins;
* ``_deflate``: permessage-deflate (RFC 7692): negotiation, RSV rules, bounded (de)compression;
* ``_impl``: picks the twin at import (``FRAMER_NO_EXTENSIONS``);
* ``_limits``: ``Limits``, API Gateway's frame and message sizes;
* ``_errors``: the local and remote protocol errors, ``ProtocolViolation``;
* ``_wire``: one frame encoder and a raw frame reader, for ``testing`` and ``conform``;
* ``router``, ``asyncio``, ``controlplane``, ``functions``, ``template``,
  ``testing``, ``conform``: the router, the gateway server, the local
  apigatewayv2, Lambda functions, SAM/CloudFormation/serverless.yml templates,
  hypothesis strategies and ``framer conform`` (each package's docstring lists
  its modules);
* ``uvicorn``: ``FramerWSProtocol``, uvicorn's WebSocket protocol on this engine;
* ``cli``, ``demo``, ``__main__``: the command line, the demo API and
  ``python -m framer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from ._deflate import PerMessageDeflate
from ._errors import LocalProtocolError, MessageTooBigError, ProtocolViolation, RemoteProtocolError
from ._impl import implementation

if TYPE_CHECKING or implementation == "pure":
    from ._connection import WSConnection
else:
    # The same source compiled as an extension type (setup.py, _connection_c.pxd).
    from ._connection_c import WSConnection
from ._limits import API_GATEWAY_MAX_FRAME_SIZE, API_GATEWAY_MAX_MESSAGE_SIZE, Limits

__version__ = "0.1.0"

__all__ = [
    "API_GATEWAY_MAX_FRAME_SIZE",
    "API_GATEWAY_MAX_MESSAGE_SIZE",
    "AcceptConnection",
    "BytesMessage",
    "CloseConnection",
    "ConnectionState",
    "ConnectionType",
    "Event",
    "Limits",
    "LocalProtocolError",
    "Message",
    "MessageTooBigError",
    "PerMessageDeflate",
    "Ping",
    "Pong",
    "ProtocolViolation",
    "RejectConnection",
    "RejectData",
    "RemoteProtocolError",
    "Request",
    "TextMessage",
    "WSConnection",
    "implementation",
]
