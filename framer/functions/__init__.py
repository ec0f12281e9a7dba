"""framer.functions: the Lambda functions framer runs.

- ``_spec``: ``Function``, a function's definition (name, handler, code
  directory, runtime, environment, timeout, memory, concurrency), validated.
- ``_context``: ``LambdaContext``, the ``context`` object handlers receive.
- ``_inprocess``: ``load_handler``, a function's handler imported into this process.
"""

from __future__ import annotations

from ._context import LambdaContext
from ._inprocess import load_handler, split_handler
from ._spec import DEFAULT_RUNTIME, Function, FunctionError

__all__ = ["DEFAULT_RUNTIME", "Function", "FunctionError", "LambdaContext", "load_handler", "split_handler"]
