"""``Function``: what Lambda runs, as a frozen, validated record.

Defaults and bounds are Lambda's ("Configuring Lambda function options",
docs.aws.amazon.com/lambda/latest/dg/configuration-function-common.html):
timeout 3 s by default, 1-900 s; memory 128 MB by default, 128-10240 MB;
a function name of 1-64 letters, digits, hyphens or underscores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Optional

__all__ = ["Function", "FunctionError", "DEFAULT_RUNTIME"]

DEFAULT_RUNTIME = "python3.12"

NAME_CHARACTERS = "A-Za-z0-9_-"
"""The characters of a Lambda function name, as a regular expression's
character class (``[...]``) holds them."""
NAME_PATTERN = f"[{NAME_CHARACTERS}]{{1,64}}"
"""A Lambda function name, as a regular expression (unanchored)."""
_NAME = re.compile(f"^{NAME_PATTERN}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class FunctionError(ValueError):
    """A function definition that cannot be run; the message names the function
    and the property."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Function:
    """A Lambda function framer runs.

    ``handler`` is Lambda's ``file_or_module.function`` (``app.handler``,
    ``pkg/app.handler``) or framer's ``module:callable``; it is imported with
    ``code_dir`` first on ``sys.path``.
    """

    name: str
    handler: str
    code_dir: Path = field(default_factory=Path.cwd)
    runtime: str = DEFAULT_RUNTIME
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 3.0
    memory_mb: int = 128
    reserved_concurrency: Optional[int] = None

    def __post_init__(self) -> None:
        where = f"function {self.name!r}"
        check_function_name(self.name)
        if not isinstance(self.handler, str) or not self.handler.strip():
            raise FunctionError(f"{where}: Handler must be a non-empty string")
        try:
            split_handler(self.handler)
        except FunctionError as exc:
            raise FunctionError(f"{where}: Handler {exc}") from None
        object.__setattr__(self, "code_dir", Path(self.code_dir))
        if not (1 <= self.timeout_s <= 900):
            raise FunctionError(f"{where}: Timeout {self.timeout_s!r} must be 1-900 seconds")
        if not (128 <= self.memory_mb <= 10240):
            raise FunctionError(f"{where}: MemorySize {self.memory_mb!r} must be 128-10240 MB")
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise FunctionError(
                f"{where}: ReservedConcurrentExecutions {self.reserved_concurrency!r} "
                "must be 0 or more")
        env = {}
        for key, value in dict(self.environment).items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                raise FunctionError(f"{where}: invalid environment variable name {key!r}")
            env[key] = str(value)
        object.__setattr__(self, "environment", MappingProxyType(env))

    @property
    def is_python(self) -> bool:
        """True for the ``python3.x`` runtimes framer can run."""
        return re.fullmatch(r"python3(\.\d+)?", self.runtime) is not None


def is_function_name(name: object) -> bool:
    """Whether ``name`` is a Lambda function name: 1-64 letters, digits,
    hyphens or underscores."""
    return isinstance(name, str) and _NAME.match(name) is not None


def check_function_name(name: object) -> None:
    """Raise ``FunctionError`` unless ``name`` is a Lambda function name."""
    if not is_function_name(name):
        raise FunctionError(
            f"invalid function name {name!r}: use 1-64 letters, digits, "
            "hyphens or underscores (a Lambda function name)")


def split_handler(handler: str) -> tuple[str, str]:
    """``(module, attribute)`` of a handler string in Lambda's form
    (``file_or_module.function``, slashes for directories) or framer's
    (``module:callable``, dots allowed after the colon)."""
    if ":" in handler:
        module, _, attr = handler.partition(":")
    else:
        module, _, attr = handler.rpartition(".")
        module = module.replace("/", ".")
    if not module or not attr or module.startswith(".") or module.endswith("."):
        raise FunctionError(
            f"{handler!r} must be module:callable or file_or_module.function (Lambda's form)")
    return module, attr
