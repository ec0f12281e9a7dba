"""The ``Gateway``'s integrations and integration responses (a mixin).

An integration is what a route calls: a Python handler playing a Lambda
function (``AWS_PROXY``), an HTTP endpoint (``HTTP_PROXY``) or nothing
(``MOCK``). ``Integrations`` holds the operations on them; the ``Gateway``
inherits it, and its state is the ``Gateway``'s (see ``_tables``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping, Optional, Union

from ._changes import mutation
from ._checks import check_timeout, checked_integration_type, find
from ._errors import BadRequestException, ConflictException, TooManyRequestsException
from ._model import Handler, Integration, IntegrationResponse, IntegrationType
from ._tables import Tables


class Integrations(Tables):
    """create/get/update/delete_integration and the integration responses."""

    @mutation
    def create_integration(
        self,
        api_id: str,
        *,
        integration_type: Union[IntegrationType, str],
        handler: Optional[Handler] = None,
        integration_uri: Optional[str] = None,
        integration_method: Optional[str] = None,
        timeout_in_millis: int = 29_000,
        description: Optional[str] = None,
        request_templates: Optional[Mapping[str, str]] = None,
        template_selection_expression: Optional[str] = None,
    ) -> Integration:
        """Create an integration.

        - ``AWS_PROXY``: ``handler`` is a Python callable ``(event, context)``
          playing the Lambda function (sync or async); ``integration_uri`` is
          made up from its name when not given.
        - ``HTTP_PROXY``: ``integration_uri`` is an ``http(s)://`` URL;
          ``integration_method`` defaults to ``POST``.
        - ``MOCK``: no backend. ``request_templates["$default"]`` may be
          ``'{"statusCode": 403}'`` to choose the ``$connect`` status.

        ``timeout_in_millis`` must be 50..29000 (WebSocket quota).
        """
        state = self._state(api_id)
        if len(state.integrations) >= self.quotas.max_integrations_per_api:
            raise TooManyRequestsException(
                f"Maximum number of integrations ({self.quotas.max_integrations_per_api}) "
                f"reached for API {api_id}", limit_type="IntegrationsPerApi")
        kind = checked_integration_type(integration_type)
        check_timeout(timeout_in_millis)
        uri, method = self._check_target(kind, handler, integration_uri, integration_method)
        integration = Integration(
            integration_id=self._unique(state.integrations, self.ids.resource_id),
            integration_type=kind,
            timeout_in_millis=timeout_in_millis,
            integration_uri=uri,
            integration_method=method,
            handler=handler,
            description=description,
            request_templates=dict(request_templates or {}),
            template_selection_expression=template_selection_expression,
        )
        state.integrations[integration.integration_id] = integration
        state.integration_responses[integration.integration_id] = {}
        return integration

    def _check_target(
        self,
        kind: IntegrationType,
        handler: Optional[Handler],
        uri: Optional[str],
        method: Optional[str],
    ) -> tuple[Optional[str], Optional[str]]:
        """The URI and method an integration of ``kind`` gets: ``AWS_PROXY`` needs a
        callable handler (its URI is made up from it when not given),
        ``HTTP_PROXY`` an http(s) URL; only ``AWS_PROXY`` takes a handler."""
        if kind is IntegrationType.AWS_PROXY:
            if handler is None or not callable(handler):
                raise BadRequestException(
                    "Invalid handler: an AWS_PROXY integration needs a Python "
                    "callable handler(event, context)")
            if uri is None:
                uri = self._lambda_uri(handler)
            return uri, method or "POST"
        if handler is not None:
            raise BadRequestException(
                f"Invalid handler: only AWS_PROXY integrations take one, not {kind.value}")
        if kind is IntegrationType.HTTP_PROXY:
            if not uri or not re.match(r"^https?://[^\s/]+", uri):
                raise BadRequestException(
                    f"Invalid integrationUri {uri!r}: HTTP_PROXY needs an "
                    "http:// or https:// URL")
            return uri, (method or "POST").upper()
        return uri, method

    def get_integration(self, api_id: str, integration_id: str) -> Integration:
        """The integration, or ``NotFoundException``."""
        return find(self._state(api_id).integrations, integration_id, "Integration")

    def get_integrations(self, api_id: str) -> list[Integration]:
        """Every integration of the API."""
        return list(self._state(api_id).integrations.values())

    @mutation
    def update_integration(
        self,
        api_id: str,
        integration_id: str,
        *,
        handler: Optional[Handler] = None,
        integration_uri: Optional[str] = None,
        integration_method: Optional[str] = None,
        timeout_in_millis: Optional[int] = None,
        description: Optional[str] = None,
    ) -> Integration:
        """Change an integration (reaches clients with the next deployment)."""
        state = self._state(api_id)
        current = self.get_integration(api_id, integration_id)
        if timeout_in_millis is not None:
            check_timeout(timeout_in_millis)
        new_handler = handler if handler is not None else current.handler
        new_uri = integration_uri if integration_uri is not None else (
            None if handler is not None else current.integration_uri)
        uri, method = self._check_target(
            current.integration_type, new_handler, new_uri,
            integration_method or current.integration_method)
        updated = replace(
            current, handler=new_handler, integration_uri=uri, integration_method=method,
            timeout_in_millis=timeout_in_millis or current.timeout_in_millis,
            description=description if description is not None else current.description)
        state.integrations[integration_id] = updated
        return updated

    @mutation
    def delete_integration(self, api_id: str, integration_id: str) -> None:
        """Delete an integration no route targets (else ``ConflictException``)."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        users = [r.route_key for r in state.routes.values()
                 if r.integration_id == integration_id]
        if users:
            raise ConflictException(
                f"Integration {integration_id} is the target of route(s) "
                f"{', '.join(users)}; change their targets first")
        del state.integrations[integration_id]
        del state.integration_responses[integration_id]

    @mutation
    def create_integration_response(
        self,
        api_id: str,
        integration_id: str,
        *,
        integration_response_key: str,
        response_templates: Optional[Mapping[str, str]] = None,
    ) -> IntegrationResponse:
        """Add an integration response (framer uses the ``$default`` one of a MOCK)."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        responses = state.integration_responses[integration_id]
        if any(r.integration_response_key == integration_response_key
               for r in responses.values()):
            raise ConflictException(
                f"Integration response with key {integration_response_key} already "
                f"exists for integration {integration_id}")
        response = IntegrationResponse(
            integration_response_id=self._unique(responses, self.ids.resource_id),
            integration_response_key=integration_response_key,
            response_templates=dict(response_templates or {}))
        responses[response.integration_response_id] = response
        return response

    def get_integration_responses(
            self, api_id: str, integration_id: str) -> list[IntegrationResponse]:
        """The integration's responses."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        return list(state.integration_responses[integration_id].values())
