"""``framer.functions.__all__`` is exactly the public surface, and each name exists."""

from __future__ import annotations

import framer.functions

EXPECTED = {
    "ConnectionsEndpoints", "Crashed", "DEFAULT_CONCURRENCY", "DEFAULT_REGION", "DEFAULT_RUNTIME",
    "EnvVarsFile", "Function", "FunctionError", "InProcessRunner", "LambdaContext", "Outcome",
    "Raised", "Returned", "Runner", "RunnerOptions", "Throttled", "TimedOut", "WorkerRunner",
    "function_for", "lambda_environment", "load_handler", "split_handler",
    "FunctionHandler", "function_handler", "runtime_version",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert sorted(framer.functions.__all__) == sorted(EXPECTED)
    assert len(framer.functions.__all__) == len(EXPECTED)
    for name in EXPECTED:
        assert getattr(framer.functions, name) is not None

