"""The lines ``sam local`` prints around each invocation, as Python ``logging`` records.

Every line goes through the logger ``framer.functions.{function name}`` (so
the server's log configuration applies, and a function's lines can be
filtered by name): ``START``, the function's own output, ``END`` and
``REPORT``, in the order they happened.  Formats are Lambda's ("AWS Lambda
function logging in Python", docs.aws.amazon.com/lambda/latest/dg/python-logging.html):
tab-separated ``REPORT`` fields, a duration billed by the millisecond.
What concerns the runner rather than one invocation (a reload, a runtime
note) goes through ``framer.functions`` itself.
"""

from __future__ import annotations

import logging
import math
from typing import Optional

__all__ = ["function_logger", "log_end", "log_report", "log_start", "runner_logger"]

runner_logger = logging.getLogger("framer.functions")


def function_logger(name: str) -> logging.Logger:
    """The logger a function's lines go through."""
    return logging.getLogger(f"framer.functions.{name}")


def log_start(logger: logging.Logger, request_id: str) -> None:
    logger.info("START RequestId: %s Version: $LATEST", request_id)


def log_end(logger: logging.Logger, request_id: str) -> None:
    logger.info("END RequestId: %s", request_id)


def log_report(logger: logging.Logger, request_id: str, *, duration_ms: float,
               memory_mb: int, max_memory_mb: int,
               init_duration_ms: Optional[float] = None) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    init = "" if init_duration_ms is None else f"\tInit Duration: {init_duration_ms:.2f} ms"
    logger.info("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\t"
                "Memory Size: %d MB\tMax Memory Used: %d MB%s",
                request_id, duration_ms, max(1, math.ceil(duration_ms)), memory_mb,
                max_memory_mb, init)
