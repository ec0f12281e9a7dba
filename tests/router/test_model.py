"""Record shapes: CLI JSON layout and wire forms."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from framer.router import (
    Authorizer,
    LoggingLevel,
    Route,
    RouteSettings,
    Stage,
)
from framer.router._model import DEFAULT_STAGE_ROUTE_SETTINGS, flat_json

T = datetime(2018, 11, 15, 6, 50, 28, tzinfo=timezone.utc)


def test_flat_json_layout() -> None:
    assert flat_json({}) == "{}"
    assert flat_json([]) == "[]"
    assert flat_json({"A": [1, "b"], "C": {"D": 1.0, "E": None}}) == \
        '{ "A": [ 1, "b" ], "C": { "D": 1.0, "E": null } }'


def test_default_route_settings_are_the_seeds() -> None:
    assert flat_json(DEFAULT_STAGE_ROUTE_SETTINGS.to_dict()) == (
        '{ "MetricsEnabled": false, "ThrottlingBurstLimit": 5000, '
        '"DataTraceEnabled": false, "ThrottlingRateLimit": 10000.0 }')


def test_route_settings_merge_and_logging_level() -> None:
    merged = DEFAULT_STAGE_ROUTE_SETTINGS.merged(
        RouteSettings(logging_level=LoggingLevel.INFO, throttling_burst_limit=1))
    assert merged.throttling_burst_limit == 1 and merged.throttling_rate_limit == 10000.0
    assert merged.to_dict()["LoggingLevel"] == "INFO"
    assert merged.to_wire()["loggingLevel"] == "INFO"


def test_records_are_frozen() -> None:
    route = Route(route_id="r", route_key="k")
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.route_key = "x"  # type: ignore[misc]


def test_route_shapes() -> None:
    route = Route(route_id="abc1234", route_key="$default", target="integrations/x1",
                  route_response_selection_expression="$default")
    assert route.integration_id == "x1" and route.two_way
    assert route.to_json() == (
        '{ "ApiKeyRequired": false, "AuthorizationType": "NONE", "RouteId": "abc1234", '
        '"RouteKey": "$default", "RouteResponseSelectionExpression": "$default", '
        '"Target": "integrations/x1" }')
    assert route.to_wire()["routeResponseSelectionExpression"] == "$default"
    assert not Route(route_id="a", route_key="b").two_way


def test_authorizer_never_shows_the_handler() -> None:
    auth = Authorizer(authorizer_id="a1", name="n", identity_source=("route.request.header.A",),
                      handler=print)
    assert "handler" not in auth.to_json().lower()
    assert auth.to_wire() == {"authorizerId": "a1", "authorizerType": "REQUEST",
                              "identitySource": ["route.request.header.A"], "name": "n"}


def test_stage_optional_members() -> None:
    stage = Stage(stage_name="s", created_date=T, last_updated_date=T,
                  description="d", tags={"t": "1"})
    shape = stage.to_dict()
    assert "DeploymentId" not in shape
    assert shape["Description"] == "d" and shape["Tags"] == {"t": "1"}
    assert list(shape) == ["StageName", "CreatedDate", "Description",
                           "DefaultRouteSettings", "LastUpdatedDate", "StageVariables",
                           "RouteSettings", "Tags"]
