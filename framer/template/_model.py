"""The neutral app model: what a template made, whatever its format.

``App`` is what the banner prints and the tests read: each WebSocket API
with its stages and routes (and the function behind each), the template's
functions, the resources framer does not emulate, and warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from ._functions import TemplateFunction

__all__ = ["App", "ApiEntry", "RouteEntry", "Skipped"]


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A route: its key and what it runs."""

    route_key: str
    integration_type: Optional[str]
    """``AWS_PROXY``, ``HTTP_PROXY``, ``MOCK``, or ``None`` (no target)."""
    target: str
    """The Lambda function name, the HTTP URI, or ``""``."""
    function: Optional[TemplateFunction]
    """The template's function behind an ``AWS_PROXY`` target, if it is one."""
    authorizer: Optional[str] = None
    """The authorizer's function name, on an authorized ``$connect``."""


@dataclass(frozen=True, slots=True)
class ApiEntry:
    """A WebSocket API the template made."""

    logical_id: str
    api_id: str
    name: str
    stages: tuple[str, ...]
    routes: tuple[RouteEntry, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A resource framer does not run, and why."""

    logical_id: str
    type: str
    reason: str


@dataclass(frozen=True, slots=True)
class App:
    """What one load of a template made."""

    file: Path
    format: str
    """``cloudformation``, ``sam`` or ``serverless``."""
    apis: tuple[ApiEntry, ...]
    functions: tuple[TemplateFunction, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    watched: tuple[Path, ...]
    outputs: Mapping[str, Any]
    """The template's ``Outputs``, evaluated (name -> value)."""
    """The files the template was read from (for ``--reload``)."""
