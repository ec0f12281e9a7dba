"""The built-in demo API served by ``framer serve --demo``.

The equivalent of AWS's simple-websockets-chat-app, kept in memory, plus an
echo route:

- ``$connect`` registers the connection id (the sample's DynamoDB table is a set);
- ``{"action": "sendmessage", "data": "..."}`` posts ``data`` to every
  registered connection through the @connections API, forgetting ids that are
  gone (410), as the sample does;
- ``$disconnect`` forgets the id;
- anything else (``$default``, including non-JSON text) is echoed back to the
  sender through a two-way route (a ``$default`` route response).

The chat's handlers share the connection table, so they are methods of
``Demo`` and run in framer's process; ``echo`` is a module-level function,
so ``framer serve --demo`` runs it in worker processes like any function
(``--in-process`` keeps it in the server's process).

Route selection expression: ``$request.body.action``; one stage, ``dev``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from framer.asyncio import GoneException, LimitExceededException, management_api
from framer.router import Gateway, Router

__all__ = ["Demo", "build_demo", "echo", "DEMO_STAGE"]

#: The stage the demo is deployed to: ``ws://127.0.0.1:8080/dev``.
DEMO_STAGE = "dev"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Demo:
    """The demo API: its gateway, its router, and the in-memory connection table."""

    def __init__(self, stage: str = DEMO_STAGE, domain_name: str = "localhost", *,
                 region: str = "us-east-1") -> None:
        self.connections: set[str] = set()
        self.gateway = Gateway(clock=_utc_now, region=region)
        gw = self.gateway
        api = gw.create_api(name="framer-demo-chat", route_selection_expression="$request.body.action")
        self.api_id = api.api_id

        def route(key: str, handler: Any, *, two_way: bool = False) -> None:
            integration = gw.create_integration(api.api_id, integration_type="AWS_PROXY", handler=handler)
            created = gw.create_route(
                api.api_id,
                route_key=key,
                target=f"integrations/{integration.integration_id}",
                route_response_selection_expression="$default" if two_way else None,
            )
            if two_way:
                gw.create_route_response(api.api_id, created.route_id, route_response_key="$default")

        route("$connect", self.on_connect)
        route("$disconnect", self.on_disconnect)
        route("sendmessage", self.send_message)
        route("$default", echo, two_way=True)
        gw.create_stage(api.api_id, stage)
        gw.create_deployment(api.api_id, stage_name=stage, description="framer demo")
        self.router = Router(gw, api.api_id, domain_name=domain_name)

    async def on_connect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Register the new connection (the sample's ``onconnect``)."""
        self.connections.add(event["requestContext"]["connectionId"])
        return {"statusCode": 200, "body": "Connected."}

    async def on_disconnect(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Forget the connection (the sample's ``ondisconnect``)."""
        self.connections.discard(event["requestContext"]["connectionId"])
        return {"statusCode": 200, "body": "Disconnected."}

    async def send_message(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Post ``data`` to every connection (the sample's ``sendmessage``)."""
        try:
            data = json.loads(event.get("body") or "{}").get("data", "")
        except (ValueError, AttributeError):
            return {"statusCode": 400, "body": "Body must be JSON with a data field."}
        payload = data if isinstance(data, str) else json.dumps(data)
        api = management_api()
        for connection_id in list(self.connections):
            try:
                api.post_to_connection(ConnectionId=connection_id, Data=payload.encode())
            except GoneException:
                self.connections.discard(connection_id)
            except LimitExceededException:
                pass  # that client is not reading; it misses this message
        return {"statusCode": 200, "body": "Data sent."}



async def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Send the message back to its sender (two-way ``$default`` route)."""
    return {"statusCode": 200, "body": event.get("body", "")}


def build_demo(stage: str = DEMO_STAGE, *, region: str = "us-east-1") -> Demo:
    """A fresh demo API, deployed to *stage*, in *region*."""
    return Demo(stage, region=region)
