"""The ``Gateway``'s input checks, one function per rule.

Each takes what a caller gave (a name, a key, an expression, a settings
object) and returns it checked, or raises API Gateway's
``BadRequestException`` naming the field, the value and the rule
(``NotFoundException`` for an unknown identifier). The rules that depend on
the account's limits take its ``Quotas``. Checks that need an API's other
resources (a route's target and authorizer) stay with that resource family.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Iterable, Mapping, Optional, TypeVar, Union

from ._errors import BadRequestException, NotFoundException
from ._model import IntegrationType, LoggingLevel, RouteSettings
from ._quotas import Quotas

PREDEFINED_ROUTE_KEYS = ("$connect", "$disconnect", "$default")

_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{1,2048}$")
_IDENTITY_SOURCE = re.compile(
    r"^(route\.request\.header\.[^\s.][^\s]*|route\.request\.querystring\.[^\s.][^\s]*"
    r"|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$")


_T = TypeVar("_T")


def find(table: Mapping[str, _T], key: str, kind: str, label: Optional[str] = None) -> _T:
    """``table[key]``, or API Gateway's ``NotFoundException`` for a ``kind`` resource."""
    try:
        return table[key]
    except KeyError:
        raise NotFoundException(f"Invalid {label or kind} identifier specified {key}",
                                resource_type=kind) from None


def checked_integration_type(value: Union[IntegrationType, str]) -> IntegrationType:
    """The integration type named, if framer runs it."""
    try:
        return IntegrationType(value)
    except ValueError:
        if value in ("AWS", "HTTP"):
            raise BadRequestException(
                f"Invalid integrationType {value!r}: non-proxy integrations need VTL "
                "mapping templates, which framer does not run; use AWS_PROXY, "
                "HTTP_PROXY or MOCK") from None
        raise BadRequestException(
            f"Invalid integrationType {value!r}: must be AWS_PROXY, HTTP_PROXY or "
            "MOCK") from None


def check_timeout(value: int) -> None:
    """An integration's ``timeoutInMillis``: 50..29000 (WebSocket quota)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 50 <= value <= 29_000:
        raise BadRequestException(
            f"Invalid timeoutInMillis {value!r}: WebSocket integrations allow 50 to "
            "29000 milliseconds")


def check_route_key(key: str) -> None:
    """A route key: non-empty; ``$`` only for the predefined keys."""
    if not isinstance(key, str) or not key:
        raise BadRequestException("Invalid routeKey: it must be a non-empty string")
    if key.startswith("$") and key not in PREDEFINED_ROUTE_KEYS:
        raise BadRequestException(
            f"Invalid routeKey {key!r}: the $ prefix is reserved for $connect, "
            "$disconnect and $default")


def check_stage_name(name: str) -> None:
    """A stage name: 1-128 letters, digits, ``-`` or ``_``, or ``$default``."""
    if not isinstance(name, str) or not (name == "$default" or _STAGE_NAME.fullmatch(name)):
        raise BadRequestException(
            f"Invalid stageName {name!r}: use 1-128 letters, digits, hyphens or "
            "underscores, or $default")


def check_api_key_expression(expression: str) -> None:
    """An API's ``apiKeySelectionExpression``: one of the two API Gateway allows."""
    allowed = ("$request.header.x-api-key", "$context.authorizer.usageIdentifierKey")
    if expression not in allowed:
        raise BadRequestException(
            f"Invalid apiKeySelectionExpression {expression!r}: must be one of "
            f"{', '.join(allowed)}")


def checked_identity_sources(sources: Iterable[str]) -> tuple[str, ...]:
    """An authorizer's ``identitySource`` entries, each a place in the request."""
    checked = tuple(sources)
    for source in checked:
        if not _IDENTITY_SOURCE.fullmatch(source):
            raise BadRequestException(
                f"Invalid identitySource {source!r}: use route.request.header.<name>, "
                "route.request.querystring.<name>, stageVariables.<name> or "
                "context.<name>")
    return checked


SettingsInput = Union[RouteSettings, Mapping[str, Any]]

_SETTINGS_KEYS = {
    "datatraceenabled": "data_trace_enabled",
    "detailedmetricsenabled": "detailed_metrics_enabled",
    "metricsenabled": "detailed_metrics_enabled",
    "logginglevel": "logging_level",
    "throttlingburstlimit": "throttling_burst_limit",
    "throttlingratelimit": "throttling_rate_limit",
}


def checked_route_settings(value: SettingsInput, field: str, quotas: Quotas) -> RouteSettings:
    """Route settings given as ``RouteSettings`` or as the wire's members (any
    case), checked: throttling within the account's limits, flags booleans."""
    if isinstance(value, RouteSettings):
        settings = value
    elif isinstance(value, Mapping):
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            name = _SETTINGS_KEYS.get(str(key).lower())
            if name is None:
                raise BadRequestException(
                    f"Invalid {field}: unknown member {key!r}")
            kwargs[name] = item
        if "logging_level" in kwargs:
            try:
                kwargs["logging_level"] = LoggingLevel(kwargs["logging_level"])
            except ValueError:
                raise BadRequestException(
                    f"Invalid {field}.loggingLevel {kwargs['logging_level']!r}: "
                    "must be ERROR, INFO or OFF") from None
        settings = RouteSettings(**kwargs)
    else:
        raise BadRequestException(f"Invalid {field}: expected an object")
    burst, rate = settings.throttling_burst_limit, settings.throttling_rate_limit
    if burst is not None:
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
            raise BadRequestException(
                f"Invalid {field}.throttlingBurstLimit {burst!r}: must be an "
                "integer >= 0")
        if burst > quotas.account_burst_limit:
            raise BadRequestException(
                f"Invalid {field}.throttlingBurstLimit {burst}: exceeds the "
                f"account burst limit {quotas.account_burst_limit}")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
            raise BadRequestException(
                f"Invalid {field}.throttlingRateLimit {rate!r}: must be a "
                "number >= 0")
        if rate > quotas.account_rate_limit:
            raise BadRequestException(
                f"Invalid {field}.throttlingRateLimit {rate}: exceeds the "
                f"account rate limit {quotas.account_rate_limit}")
        settings = replace(settings, throttling_rate_limit=float(rate))
    for flag in ("data_trace_enabled", "detailed_metrics_enabled"):
        got = getattr(settings, flag)
        if got is not None and not isinstance(got, bool):
            raise BadRequestException(f"Invalid {field}.{flag}: {got!r} is not a boolean")
    return settings


def checked_stage_variables(variables: Mapping[str, str], quotas: Quotas) -> dict[str, str]:
    """A stage's variables, checked (count, names, values), as a new dict."""
    if len(variables) > quotas.max_stage_variables:
        raise BadRequestException(
            f"Invalid stageVariables: {len(variables)} variables, at most "
            f"{quotas.max_stage_variables}")
    for name, value in variables.items():
        if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
            raise BadRequestException(
                f"Invalid stage variable name {name!r}: use 1-64 letters, digits "
                "or underscores")
        if not isinstance(value, str) or not _VARIABLE_VALUE.fullmatch(value):
            raise BadRequestException(
                f"Invalid stage variable value {value!r} for {name}: use 1-2048 "
                "characters from A-Z a-z 0-9 - . _ ~ : / ? # & = ,")
    return dict(variables)
