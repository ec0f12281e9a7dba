"""The HTTP_PROXY integration's client: one HTTP/1.1 request per connection, with h11."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import h11

from framer.router import HttpCall, HttpResponse

__all__ = ["http_request"]


async def http_request(call: HttpCall) -> HttpResponse:
    """Make an HTTP_PROXY integration call (plain HTTP/1.1, one request per connection)."""
    parts = urlsplit(call.url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"HTTP integration URL must be http(s): {call.url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=parts.scheme == "https"
    )
    try:
        conn = h11.Connection(h11.CLIENT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [(k, v) for k, v in call.headers if k.lower() not in ("host", "content-length", "connection")]
        headers += [("Host", parts.netloc), ("Content-Length", str(len(call.body))), ("Connection", "close")]
        writer.write(conn.send(h11.Request(method=call.method, target=target, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=call.body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        status, resp_headers, body = 0, [], bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await reader.read(65536)
                conn.receive_data(chunk)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                resp_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        return HttpResponse(status=status, headers=tuple(resp_headers), body=bytes(body))
    finally:
        writer.close()
