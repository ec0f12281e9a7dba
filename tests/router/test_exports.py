"""The public surface is what we mean to export."""

from __future__ import annotations

import framer.router as router


def test_all_is_exactly_the_public_names() -> None:
    public = {n for n in dir(router) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(router, n)).__name__ == "module"}
    assert set(router.__all__) == public - modules - {"annotations"}
    assert len(router.__all__) == len(set(router.__all__))


EXPECTED = {
    # the control plane and its records
    "Gateway", "Quotas", "Api", "Authorizer", "AuthorizationType", "Deployment",
    "Integration", "IntegrationResponse", "IntegrationType", "LoggingLevel", "Route",
    "RouteResponse", "RouteSettings", "Snapshot", "Stage",
    # the data plane and the driver's contract
    "Router", "Connection", "ConnectionInfo", "ConnectionState", "Invoke", "Invocation",
    "InvocationKind", "Purpose", "HttpCall", "HttpResponse", "LambdaContext",
    "Returned", "Raised", "TimedOut", "Accept", "Refuse", "Reply", "Closed",
    "is_valid_connection_id",
    # errors
    "ApiGatewayError", "BadRequestException", "ConflictException", "GoneException",
    "NotFoundException", "RouterError", "RouterUsageError", "TooManyRequestsException",
}

REMOVED = ("DEFAULT_STAGE_ROUTE_SETTINGS", "SelectionExpression",
           "parse_selection_expression", "TokenBucket", "error_frame")
"""Building blocks that left ``__all__`` (README changelog); their modules keep them."""


def test_all_is_what_a_user_needs() -> None:
    assert set(router.__all__) == EXPECTED
    for name in REMOVED:
        assert not hasattr(router, name), name


def test_the_lambda_context_is_the_one_of_framer_functions() -> None:
    from framer.functions._context import LambdaContext
    assert router.LambdaContext is LambdaContext


def test_init_docstring_names_every_module() -> None:
    import pathlib
    doc = router.__doc__ or ""
    modules = {p.stem for p in pathlib.Path(router.__file__).parent.glob("_*.py")} - {"__init__"}
    assert modules
    for module in modules:
        assert f"- ``{module}``: " in doc, module


def test_router_does_not_import_the_engine_or_io() -> None:
    import pathlib
    import re
    root = pathlib.Path(router.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(framer\._|framer\.asyncio|\.\.)",
                             text, re.M), path
        for banned in ("import asyncio", "import socket", "import threading",
                       "import time", "datetime.now", "time.time"):
            assert banned not in text, (path, banned)
