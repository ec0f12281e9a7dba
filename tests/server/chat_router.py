"""The sam-chat example's unchanged handlers (``app.py``) behind a ``Router``,
for ``framer serve chat_router:router`` run in a copy of ``examples/sam-chat/src``."""

from datetime import datetime, timezone

from framer.router import Gateway, Router

import app

gateway = Gateway(clock=lambda: datetime.now(timezone.utc))
api = gateway.create_api(name="chat", route_selection_expression="$request.body.action")
for key, handler in (("$connect", app.on_connect), ("$disconnect", app.on_disconnect),
                     ("sendmessage", app.send_message)):
    made = gateway.create_integration(api.api_id, integration_type="AWS_PROXY", handler=handler)
    gateway.create_route(api.api_id, route_key=key, target=f"integrations/{made.integration_id}")
gateway.create_stage(api.api_id, "prod")
gateway.create_deployment(api.api_id, stage_name="prod")
router = Router(gateway, api.api_id, domain_name=f"127.0.0.1:{__import__('os').environ['PORT']}")
