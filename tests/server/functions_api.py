"""A router whose integrations are functions_app's handlers, plain and as
configured functions (``FunctionHandler``), for ``framer serve functions_api:router``."""

from datetime import datetime, timezone

from framer.functions import function_for, function_handler
from framer.router import Gateway, Router

import functions_app as app

gateway = Gateway(clock=lambda: datetime.now(timezone.utc))
api = gateway.create_api(name="functions", route_selection_expression="$request.body.action")


def _route(key, handler, two_way=True, **integration):
    made = gateway.create_integration(api.api_id, integration_type="AWS_PROXY", handler=handler,
                                      **integration)
    route = gateway.create_route(api.api_id, route_key=key,
                                 target=f"integrations/{made.integration_id}",
                                 route_response_selection_expression="$default" if two_way else None)
    if two_way:
        gateway.create_route_response(api.api_id, route.route_id, route_response_key="$default")


def _configured(handler, **fields):
    return function_handler(function_for(handler, **fields), handler)


_route("$connect", _configured(app.onconnect, timeout_s=1), two_way=False)
_route("$default", app.echo)
_route("aecho", app.aecho)
_route("env", _configured(app.env, environment={"GREETING": "hello"}, memory_mb=256))
_route("boom", app.boom)
_route("sleep", _configured(app.sleep, timeout_s=2))
_route("gatewaytimeout", _configured(app.sleep, name="longsleep", timeout_s=30),
       timeout_in_millis=1000)
_route("crash", app.crash)
_route("big", app.big)
_route("abig", app.abig)
_route("version", app.version)
_route("bigpost", app.bigpost)
gateway.create_stage(api.api_id, "dev")
gateway.create_deployment(api.api_id, stage_name="dev")
router = Router(gateway, api.api_id)
