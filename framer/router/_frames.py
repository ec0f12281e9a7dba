"""In-band error frames API Gateway sends on an open connection (reference §6.5).

The layout is API Gateway's, byte for byte, including its uneven spacing: a
space after ``"message":`` and after each comma, none after the other colons::

    {"message": "Forbidden", "connectionId":"XDmENcnwIE0CFEQ=", "requestId":"XDmGEE2RoE0FRdQ="}
"""

from __future__ import annotations

import json

FORBIDDEN = "Forbidden"
"""No route matched and the API has no ``$default`` route."""
INTERNAL_SERVER_ERROR = "Internal server error"
"""The integration failed (exception, bad result, missing integration)."""
ENDPOINT_REQUEST_TIMED_OUT = "Endpoint request timed out"
"""The integration ran past its timeout."""
TOO_MANY_REQUESTS = "Too Many Requests"
"""framer's choice for a throttled message: AWS's text is not public, so this is
the text API Gateway's REST 429 responses carry."""


def error_frame(message: str, *, connection_id: str, request_id: str) -> str:
    """The text of an API Gateway in-band error frame."""
    return (f'{{"message": {json.dumps(message)}, '
            f'"connectionId":{json.dumps(connection_id)}, '
            f'"requestId":{json.dumps(request_id)}}}')
