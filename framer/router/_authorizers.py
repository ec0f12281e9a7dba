"""The ``Gateway``'s Lambda REQUEST authorizers (a mixin).

An authorizer is a Python handler that ``$connect`` calls with the request's
identity sources before the route's integration; ``Authorizers`` holds the
operations on them; the ``Gateway`` inherits it, and its state is the
``Gateway``'s (see ``_tables``).
"""

from __future__ import annotations

from typing import Iterable, Optional

from ._changes import mutation
from ._checks import find, checked_identity_sources
from ._errors import BadRequestException, ConflictException, TooManyRequestsException
from ._model import Authorizer, Handler
from ._tables import Tables


class Authorizers(Tables):
    """create/get/delete_authorizer."""

    @mutation
    def create_authorizer(
        self,
        api_id: str,
        *,
        name: str,
        identity_source: Iterable[str],
        handler: Optional[Handler] = None,
        authorizer_type: str = "REQUEST",
        authorizer_uri: Optional[str] = None,
    ) -> Authorizer:
        """Create a Lambda REQUEST authorizer run by ``handler(event, context)``.

        ``identity_source`` entries look like ``route.request.header.Auth`` or
        ``route.request.querystring.token``; each must be present and non-empty
        on the request or the client gets 401 without the handler being called.
        """
        state = self._state(api_id)
        if authorizer_type != "REQUEST":
            raise BadRequestException(
                f"Invalid authorizerType {authorizer_type!r}: WebSocket APIs support "
                "REQUEST authorizers only (JWT is for HTTP APIs)")
        if len(state.authorizers) >= self.quotas.max_authorizers_per_api:
            raise TooManyRequestsException(
                f"Maximum number of authorizers ({self.quotas.max_authorizers_per_api}) "
                f"reached for API {api_id}", limit_type="AuthorizersPerApi")
        if not name:
            raise BadRequestException("Invalid name: an authorizer needs a name")
        if handler is None or not callable(handler):
            raise BadRequestException(
                "Invalid handler: a REQUEST authorizer needs a Python callable "
                "handler(event, context)")
        sources = checked_identity_sources(identity_source)
        authorizer = Authorizer(
            authorizer_id=self._unique(state.authorizers, self.ids.resource_id),
            name=name,
            identity_source=sources,
            handler=handler,
            authorizer_uri=authorizer_uri or self._lambda_uri(handler),
        )
        state.authorizers[authorizer.authorizer_id] = authorizer
        return authorizer

    def get_authorizer(self, api_id: str, authorizer_id: str) -> Authorizer:
        """The authorizer, or ``NotFoundException``."""
        return find(self._state(api_id).authorizers, authorizer_id, "Authorizer")

    def get_authorizers(self, api_id: str) -> list[Authorizer]:
        """Every authorizer of the API."""
        return list(self._state(api_id).authorizers.values())

    @mutation
    def delete_authorizer(self, api_id: str, authorizer_id: str) -> None:
        """Delete an authorizer no route uses (else ``ConflictException``)."""
        state = self._state(api_id)
        self.get_authorizer(api_id, authorizer_id)
        users = [r.route_key for r in state.routes.values()
                 if r.authorizer_id == authorizer_id]
        if users:
            raise ConflictException(
                f"Authorizer {authorizer_id} is used by route(s) {', '.join(users)}")
        del state.authorizers[authorizer_id]
