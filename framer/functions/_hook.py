"""@connections calls from unchanged handler code land on framer's management API.

Handlers build their client as AWS's samples do::

    boto3.client("apigatewaymanagementapi",
                 endpoint_url="https://" + domain_name + "/" + stage)

or with ``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}``.  In a
worker process, ``install()`` adds one handler to botocore's
``BUILTIN_HANDLERS`` (the list every new botocore session registers, so
``boto3.client(...)``, ``boto3.session.Session().client(...)`` and plain
botocore sessions all get it) on ``before-send.apigatewaymanagementapi``: a
request whose host is one framer serves has its URL rewritten to framer's
management endpoint (plain HTTP on 127.0.0.1), path and query unchanged.  The
request is already signed; the signature, headers and body are left as they
are (``Host`` keeps the original name, as a signature check would need it).
Every other host, and an ``execute-api`` host of an API id framer does not
serve, is untouched.  A refused call (``after-call``, status 300 or more) is
written to stderr, the function's log.  Nothing is installed when botocore is not importable,
or when the server turns the hook off.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ConnectionsEndpoints", "Hook", "install", "log_failed_call", "rewrite_url",
           "uninstall"]

_EXECUTE_API = re.compile(r"^([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True, slots=True)
class ConnectionsEndpoints:
    """Where the @connections calls of the APIs framer serves go.

    ``by_api_id`` maps an API id to the base URL of its management API
    (``http://127.0.0.1:PORT`` or ``http://127.0.0.1:PORT/{apiId}``);
    ``by_host`` maps other host names (``requestContext.domainName``, with
    its port if any) to one.  A call to ``https://{host}/{stage}/@connections/{id}``
    goes to ``{base}/{stage}/@connections/{id}``.
    """

    by_api_id: Mapping[str, str] = field(default_factory=dict)
    by_host: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, table in (("by_api_id", self.by_api_id), ("by_host", self.by_host)):
            clean = {}
            for key, base in dict(table).items():
                parts = urlsplit(base)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                    raise ValueError(f"ConnectionsEndpoints.{name}[{key!r}]: {base!r} "
                                     "is not an http(s)://host[:port][/prefix] URL")
                clean[key.lower() if name == "by_host" else key] = base.rstrip("/")
            object.__setattr__(self, name, MappingProxyType(clean))

    def to_wire(self) -> dict[str, Any]:
        return {"by_api_id": dict(self.by_api_id), "by_host": dict(self.by_host)}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ConnectionsEndpoints:
        return cls(data["by_api_id"], data["by_host"])

    def base_for(self, host: str) -> Optional[str]:
        """The management base URL for ``host`` (``name`` or ``name:port``), if framer serves it."""
        host = host.lower()
        base = self.by_host.get(host)
        if base is not None:
            return base
        match = _EXECUTE_API.match(host.partition(":")[0])
        return self.by_api_id.get(match.group(1)) if match else None


def rewrite_url(url: str, endpoints: ConnectionsEndpoints) -> Optional[str]:
    """``url`` moved onto framer's management API, or ``None`` to leave it."""
    parts = urlsplit(url)
    base = endpoints.base_for(parts.netloc)
    if base is None:
        return None
    target = urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, target.path + parts.path, parts.query, ""))


def log_failed_call(http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
    """``after-call``: a refused @connections call is written to stderr (the
    function's log), so a broadcast that loses a message says so."""
    status = getattr(http_response, "status_code", 200)
    if status < 300:
        return
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    sys.stderr.write(f"@connections {getattr(model, 'name', '?')} failed: {status} "
                     f"{error.get('Code', '')}: {error.get('Message', '')}\n")


class Hook:
    """The installed handlers; ``endpoints`` is replaced as the server's APIs change."""

    def __init__(self, endpoints: ConnectionsEndpoints) -> None:
        self.endpoints = endpoints

    def __call__(self, request: Any, **kwargs: Any) -> None:
        new_url = rewrite_url(request.url, self.endpoints)
        if new_url is not None:
            request.headers["Host"] = urlsplit(request.url).netloc
            request.url = new_url


_EVENT = "before-send.apigatewaymanagementapi"
_AFTER = "after-call.apigatewaymanagementapi"


def _default_session_events() -> Any:
    """The event emitter of boto3's default session, if one was made already
    (``boto3.client(...)`` reuses it, so it never sees later built-ins)."""
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None)
    return session.events if session is not None else None


def install(endpoints: ConnectionsEndpoints) -> Optional[Hook]:
    """Register the rewrite for every botocore session made from now on, and
    boto3's default session if it exists (``None``, and nothing done, without
    botocore)."""
    try:
        from botocore.handlers import BUILTIN_HANDLERS  # type: ignore[import-untyped]
    except ImportError:
        return None
    hook = Hook(endpoints)
    BUILTIN_HANDLERS.append((_EVENT, hook))
    if (_AFTER, log_failed_call) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append((_AFTER, log_failed_call))
    events = _default_session_events()
    if events is not None:
        events.register(_EVENT, hook)
        events.register(_AFTER, log_failed_call)
    return hook


def uninstall(hook: Hook) -> None:
    """Stop registering ``hook`` (clients made meanwhile keep it)."""
    from botocore.handlers import BUILTIN_HANDLERS

    BUILTIN_HANDLERS[:] = [entry for entry in BUILTIN_HANDLERS
                           if entry[1] is not hook and entry[1] is not log_failed_call]
    events = _default_session_events()
    if events is not None:
        events.unregister(_EVENT, hook)
        events.unregister(_AFTER, log_failed_call)
