"""What a message on a route needs, looked up once per route and per connection.

Routes, snapshots and stages are replaced, never changed, so a record made
from them stays right while they are the same objects: ``MessagePlan`` is
kept per route of a snapshot, ``RouteCache`` per connection (its last route).
A plan holds its route's ``PendingCall``, so a message in flight is its
``Invoke`` and two ids, no object of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ._lambda import ContextMaker, FunctionNames
from ._model import Integration, IntegrationType, Route, Snapshot, Stage
from ._throttle import Admission

if TYPE_CHECKING:  # _steps keeps a RouteCache on each Connection
    from ._steps import PendingCall


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePlan:
    """A route of a deployment, with what its integration call needs."""

    route: Route
    snapshot: Snapshot
    integration: Optional[Integration]
    """``None``: the route has no integration (``Internal server error``)."""
    kind: Optional[IntegrationType]
    timeout_ms: int
    names: Optional[FunctionNames]
    """The Lambda names of an ``AWS_PROXY`` handler."""
    context: Optional[ContextMaker]
    """How its calls get their ``context`` (those names, the timeout)."""
    reply: PendingCall
    """How a message on the route ends (``_message.RouteReply``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteCache:
    """A connection's last route, as its last message found it."""

    revision: int
    """The ``Gateway.revision`` it was found at: while the gateway's is the
    same, the stage and snapshot are still the connection's current ones."""
    route: Route
    snapshot: Snapshot
    stage: Optional[Stage]
    plan: MessagePlan
    admission: Optional[Admission]
    """``None`` when the stage is gone (no throttling then)."""
