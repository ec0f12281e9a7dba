"""Loading a ``Function``'s handler into this process (``--in-process`` mode).

Lambda's Python runtime reads ``Handler: path/module.function`` as module
``path.module`` (slashes become dots) and attribute ``function``, imported
with the code directory (``LAMBDA_TASK_ROOT``) first on ``sys.path``; framer
also takes ``module:callable`` (dots allowed after the colon).

Several functions of one template often have a module of the same name
(``onconnect/app.py``, ``sendmessage/app.py``, each ``app.handler``), so each
function's modules are imported on their own: the modules of other code
directories with the same names (those a code directory has at its top) are
set aside during the import and put back after it (those this process imported
itself too), and the function keeps its own module objects.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from ._environment import runtime_version
from ._spec import Function, FunctionError, split_handler

__all__ = ["function_for", "import_attribute", "import_handler", "import_spec",
           "load_handler", "split_handler"]

Handler = Callable[..., Any]

# What Lambda's Python runtimes provide without packaging: a handler that
# imports it on AWS finds it there, so its absence here is framer's install.
_LAMBDA_SDK = frozenset({"boto3", "botocore"})
_SDK_HINT = " (Lambda's Python runtime provides boto3; install it here: pip install 'framer[lambda]')"


def import_attribute(module_name: str, attr: str) -> Any:
    """Module ``module_name``'s attribute ``attr`` (dots reach nested ones),
    the module imported as ``sys.path`` stands.

    Raises ``FunctionError`` saying what failed: the module (or a package it
    is in) not found; its import raising (chained: the user's traceback); or
    no such attribute.
    """
    try:
        value: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise FunctionError(f"cannot import module {module_name!r}: {exc}") from None
        hint = _SDK_HINT if exc.name in _LAMBDA_SDK else ""
        raise FunctionError(  # a module it imports is missing
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}{hint}") from exc
    except Exception as exc:  # the user's module failed while importing
        raise FunctionError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise FunctionError(
                f"module {module_name!r} has no attribute {attr!r}") from None
    return value


def import_spec(spec: str) -> Any:
    """What ``module:attr`` (or Lambda's ``file_or_module.attr``) names, imported
    with the current directory on ``sys.path`` (as ``python -m`` has it): an
    application or handler named on the command line.

    Raises ``FunctionError`` naming the problem (``split_handler``,
    ``import_attribute``).
    """
    module_name, attr = split_handler(spec)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    return import_attribute(module_name, attr)


def _top_level_names(root: Path) -> set[str]:
    """The module and package names a code directory provides at its top."""
    names = set()
    for entry in root.iterdir():
        if entry.suffix == ".py" or (entry.is_dir() and entry.name.isidentifier()):
            names.add(entry.stem if entry.suffix == ".py" else entry.name)
    return names


def _where(function: Function) -> str:
    return (f"function {function.name!r} (Handler {function.handler!r}, "
            f"code {function.code_dir.resolve()})")


def import_handler(function: Function) -> Handler:
    """Import ``function``'s handler as ``sys.path`` stands (a worker process
    has the code directory first on it for good, as Lambda does).

    Raises ``FunctionError`` naming the function, the handler and the problem.
    """
    module_name, attr = split_handler(function.handler)
    where = _where(function)
    try:
        value = import_attribute(module_name, attr)
    except FunctionError as exc:
        raise FunctionError(f"{where}: {exc}") from exc.__cause__
    if not callable(value):
        raise FunctionError(f"{where}: {attr!r} is not callable")
    return value  # type: ignore[no-any-return]


def load_handler(function: Function) -> Handler:
    """Import ``function``'s handler into this process with its code directory
    first on ``sys.path`` during the import, its modules on their own.

    Raises ``FunctionError`` naming the function, the handler and the problem.
    """
    root = function.code_dir.resolve()
    if not root.is_dir():
        raise FunctionError(f"{_where(function)}: the code directory does not exist")
    own = _top_level_names(root)
    aside = {name: mod for name, mod in sys.modules.items()
             if name.partition(".")[0] in own}
    for name in aside:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return import_handler(function)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.partition(".")[0] in own]:
            del sys.modules[name]
        sys.modules.update(aside)


def function_for(handler: Handler, *, name: Optional[str] = None, **fields: Any) -> Function:
    """The ``Function`` of a callable defined at the top level of an importable
    module (a ``Router`` integration's ``handler=``), so that a worker process
    can import it again: ``module:qualname``, with the directory the module
    was imported from as the code directory.  ``name`` defaults to the
    callable's name; ``fields`` are the other ``Function`` fields.
    """
    qualname = getattr(handler, "__qualname__", None)
    module_name = getattr(handler, "__module__", None)
    label = f"handler {qualname or handler!r}"
    if inspect.ismethod(handler):
        raise FunctionError(f"{label}: a bound method cannot run in a worker process, its "
                            "object being in this one (or run it in-process)")
    if not qualname or not module_name or "<locals>" in qualname or "<lambda>" in qualname:
        raise FunctionError(f"{label}: only a function or class defined at the top level of a "
                            "module can run in a worker process (or run it in-process)")
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None:
        raise FunctionError(f"{label}: its module {module_name!r} has no file to import it from")
    file = Path(path).resolve()
    if module_name == "__main__":  # a script: the worker imports it by its file name
        module_name = file.stem
    depth = module_name.count(".") + (1 if file.stem == "__init__" else 0)
    code_dir = file.parents[depth]
    fields.setdefault("runtime", runtime_version())  # it runs where it was imported
    return Function(name=name or qualname.split(".")[-1], handler=f"{module_name}:{qualname}",
                    code_dir=code_dir, **fields)
