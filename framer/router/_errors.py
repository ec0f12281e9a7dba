"""Errors: API Gateway's control-plane exceptions and the router's own.

The control-plane classes carry the names, HTTP statuses and body members of the
``apigatewayv2`` service model (botocore), so a later HTTP front end can serve
them unchanged: ``status``, the ``x-amzn-ErrorType`` header and a JSON body.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class RouterError(Exception):
    """Base class of every exception framer.router raises on purpose."""


class RouterUsageError(RouterError):
    """The caller used the router wrongly (e.g. resumed a step twice).

    This is a bug in the driver, never something a client can cause.
    """


class ApiGatewayError(RouterError):
    """An API Gateway service error with its wire form.

    ``error_type`` is the exception name API Gateway puts in ``x-amzn-ErrorType``.
    """

    status: ClassVar[int] = 400
    error_type: ClassVar[str] = "ApiGatewayError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body members, camelCase as on the wire."""
        return {"message": self.message}

    def to_wire(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """``(status, headers, body)`` of the HTTP error response."""
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", self.error_type),
        ]
        return self.status, headers, json.dumps(self.body()).encode("utf-8")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadRequestException(ApiGatewayError):
    """400: the request broke one of API Gateway's rules (the message names it)."""

    status = 400
    error_type = "BadRequestException"


class NotFoundException(ApiGatewayError):
    """404: the named resource does not exist; ``resource_type`` says which kind."""

    status = 404
    error_type = "NotFoundException"

    def __init__(self, message: str, *, resource_type: str) -> None:
        super().__init__(message)
        self.resource_type = resource_type

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "resourceType": self.resource_type}


class ConflictException(ApiGatewayError):
    """409: the resource already exists (duplicate route key, stage name...)."""

    status = 409
    error_type = "ConflictException"


class TooManyRequestsException(ApiGatewayError):
    """429: a quota was reached; ``limit_type`` names it (e.g. ``StagesPerApi``)."""

    status = 429
    error_type = "TooManyRequestsException"

    def __init__(self, message: str, *, limit_type: str) -> None:
        super().__init__(message)
        self.limit_type = limit_type

    def body(self) -> dict[str, Any]:
        return {"limitType": self.limit_type, "message": self.message}


class GoneException(ApiGatewayError):
    """410 from the @connections API: the connection is closed or never existed.

    API Gateway answers with an empty body; only the header names the error.
    """

    status = 410
    error_type = "GoneException"

    def to_wire(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.status, [("x-amzn-ErrorType", self.error_type)], b""
