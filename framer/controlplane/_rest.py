"""The ``apigatewayv2`` REST-JSON API (WebSocket APIs) over a ``Gateway``.

What the AWS SDKs and the AWS CLI send to ``https://apigateway.REGION.amazonaws.com``
(botocore's ``apigatewayv2`` service model, 2018-11-29): paths under
``/v2/apis``, camelCase JSON members, a success status per operation (201 for
creates, 200 for reads and updates, 204 for deletes), errors as
``{"message": ...}`` with the exception name in ``x-amzn-ErrorType``. List
calls page with the ``maxResults`` / ``nextToken`` query parameters and answer
``{"items": [...], "nextToken": "..."}``.

Sans-IO like the router: :meth:`ControlPlane.handle` takes a parsed request,
finds its row in the operation table (``_operations.OPERATIONS``) and returns
``(status, headers, body)``. Who may call (the Host check, SigV4 with
``--require-sigv4``) is decided by the server before a request gets here.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Sequence
from urllib.parse import parse_qs, unquote

from framer.router import ApiGatewayError, BadRequestException, Gateway, NotFoundException

from ._functions import FunctionRegistry
from ._operations import OPERATIONS
from ._request import Body, Operation, Request

__all__ = ["ControlPlane", "Response"]

log = logging.getLogger("framer.controlplane")

Response = tuple[int, list[tuple[str, str]], bytes]


class ControlPlane:
    """Serves the ``apigatewayv2`` operations of WebSocket APIs from ``gateway``.

    ``functions`` maps the Lambda function names in ``integrationUri`` /
    ``authorizerUri`` to Python handlers. ``endpoint_host`` is the
    ``HOST:PORT`` put in ``apiEndpoint`` when a request has no ``Host`` header.
    """

    def __init__(self, gateway: Gateway, functions: FunctionRegistry,
                 *, endpoint_host: str = "127.0.0.1:8080") -> None:
        self.gateway = gateway
        self.functions = functions
        self.endpoint_host = endpoint_host

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a request path belongs to the control plane (``/v2/...``)."""
        return path == "/v2" or path.startswith("/v2/")

    @staticmethod
    def operations() -> tuple[Operation, ...]:
        """Every operation served (name, method, path pattern, handler)."""
        return OPERATIONS

    def handle(self, method: str, target: str, headers: Sequence[tuple[str, str]],
               body: bytes) -> Response:
        """Answer one request: ``(status, headers, body)``."""
        request_id = str(uuid.uuid4())
        path, _, raw_query = target.partition("?")
        host = next((v for k, v in headers if k.lower() == "host"), None)
        op = "-"
        try:
            operation, params = _match(method, path)
            op = operation.name
            request = Request(params=params, query=parse_qs(raw_query, keep_blank_values=True),
                              body=Body(_json_object(body)), gateway=self.gateway,
                              functions=self.functions,
                              endpoint_host=host or self.endpoint_host)
            with self.gateway.lock:
                status, payload = operation.handler(request)
        except ApiGatewayError as exc:
            status, out_headers, out = exc.to_wire()
            log.info("control %s %s op=%s status=%d %s: %s", method, path, op, status,
                     exc.error_type, exc.message)
            return status, out_headers + [("x-amzn-RequestId", request_id)], out
        except Exception:
            log.exception("control %s %s op=%s failed", method, path, op)
            body_out = json.dumps({"message": "Internal server error"}).encode()
            return 500, [("Content-Type", "application/json"),
                         ("x-amzn-ErrorType", "InternalServerErrorException"),
                         ("x-amzn-RequestId", request_id)], body_out
        log.info("control %s %s op=%s status=%d", method, path, op, status)
        out_headers = [("x-amzn-RequestId", request_id)]
        if status == 204 or payload is None:
            return status, out_headers, b""
        out_headers.append(("Content-Type", "application/json"))
        return status, out_headers, json.dumps(payload).encode("utf-8")


def _json_object(body: bytes) -> Any:
    """The request body's JSON object (``{}`` when empty)."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:  # UnicodeDecodeError too
        raise BadRequestException("Invalid request body: not JSON") from None
    except RecursionError:
        raise BadRequestException("Invalid request body: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequestException("Invalid request body: expected a JSON object")
    return data


def _match(method: str, path: str) -> tuple[Operation, dict[str, str]]:
    """The operation for ``method`` on ``path`` and its path parameters."""
    path_matched = False
    for operation in OPERATIONS:
        match = operation.regex.match(path)
        if match is None:
            continue
        path_matched = True
        if operation.method == method:
            return operation, {k: unquote(v) for k, v in match.groupdict().items()}
    if path_matched:
        raise NotFoundException(
            f"No operation for {method} {path}: framer serves the apigatewayv2 "
            "operations of WebSocket APIs", resource_type="Operation")
    raise NotFoundException(
        f"No operation at {path}: framer serves /v2/apis and what is under it "
        "(WebSocket APIs)", resource_type="Operation")
