"""framer.functions: the Lambda functions framer runs.

- ``_spec``: ``Function``, a function's definition (name, handler, code
  directory, runtime, environment, timeout, memory, concurrency), validated.
- ``_context``: ``LambdaContext``, the ``context`` object handlers receive.
"""

from __future__ import annotations

from ._context import LambdaContext
from ._spec import DEFAULT_RUNTIME, Function, FunctionError

__all__ = ["DEFAULT_RUNTIME", "Function", "FunctionError", "LambdaContext"]
