"""Test-only stand-in for the Lambda functions issue's @connections rewrite.

Handlers call ``boto3.client("apigatewaymanagementapi",
endpoint_url="https://" + domainName + "/" + stage)``, AWS's address. Until
framer's worker rewrites that endpoint itself, the end-to-end tests put this
directory on the server's ``PYTHONPATH``: a botocore ``before-send`` hook
sends apigatewaymanagementapi requests to ``$FRAMER_TEST_CONNECTIONS``
(``http://127.0.0.1:PORT``) instead, path unchanged.
"""

import os
import re

_target = os.environ.get("FRAMER_TEST_CONNECTIONS")
if _target:
    import boto3

    def _redirect(request, **_kwargs):
        request.url = re.sub(r"^https://[^/]+", _target, request.url)

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-send.apigatewaymanagementapi", _redirect)
