"""API Gateway's exceptions and their wire forms."""

from __future__ import annotations

import json

import pytest

from framer.router import (
    ApiGatewayError,
    BadRequestException,
    ConflictException,
    GoneException,
    NotFoundException,
    RouterError,
    RouterUsageError,
    TooManyRequestsException,
)


@pytest.mark.parametrize("error, status, body", [
    (BadRequestException("bad"), 400, {"message": "bad"}),
    (NotFoundException("nf", resource_type="Stage"), 404,
     {"message": "nf", "resourceType": "Stage"}),
    (ConflictException("dup"), 409, {"message": "dup"}),
    (TooManyRequestsException("max", limit_type="StagesPerApi"), 429,
     {"limitType": "StagesPerApi", "message": "max"}),
])
def test_wire_form(error: ApiGatewayError, status: int, body: dict[str, str]) -> None:
    got_status, headers, raw = error.to_wire()
    assert got_status == status == error.status
    assert ("x-amzn-ErrorType", type(error).__name__) in headers
    assert ("Content-Type", "application/json") in headers
    assert json.loads(raw) == body
    assert str(error) == error.message
    assert isinstance(error, RouterError)


def test_gone_has_an_empty_body() -> None:
    assert GoneException("x").to_wire() == (410, [("x-amzn-ErrorType", "GoneException")],
                                            b"")


def test_usage_error_is_not_a_service_error() -> None:
    assert not issubclass(RouterUsageError, ApiGatewayError)
    assert repr(ConflictException("x")) == "ConflictException('x')"
