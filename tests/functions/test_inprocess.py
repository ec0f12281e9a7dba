"""Function records and in-process handler loading, with real files."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from framer.functions import Function, FunctionError, load_handler, split_handler


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.mark.parametrize("handler, expected", [
    ("app.lambda_handler", ("app", "lambda_handler")),
    ("src/handlers/chat.connect", ("src.handlers.chat", "connect")),
    ("pkg.mod:Klass.method", ("pkg.mod", "Klass.method")),
])
def test_split_handler(handler: str, expected: tuple[str, str]) -> None:
    assert split_handler(handler) == expected


@pytest.mark.parametrize("handler", ["noattr.", ".x", "mod:"])
def test_split_handler_refuses(handler: str) -> None:
    with pytest.raises(FunctionError, match="must be module:callable or file_or_module"):
        split_handler(handler)


def test_function_defaults_and_bounds(tmp_path: Path) -> None:
    fn = Function(name="chat", handler="app.handler", code_dir=tmp_path)
    assert (fn.timeout_s, fn.memory_mb, fn.reserved_concurrency) == (3.0, 128, None)
    assert fn.is_python
    assert not Function(name="n", handler="index.handler", runtime="nodejs20.x").is_python
    Function(name="t", handler="a.b", timeout_s=900)
    with pytest.raises(FunctionError, match="'t'.*Timeout 901"):
        Function(name="t", handler="a.b", timeout_s=901)
    with pytest.raises(FunctionError, match="MemorySize 127"):
        Function(name="t", handler="a.b", memory_mb=127)
    with pytest.raises(FunctionError, match="invalid function name"):
        Function(name="a" * 65, handler="a.b")
    with pytest.raises(FunctionError, match="environment variable name '1X'"):
        Function(name="t", handler="a.b", environment={"1X": "v"})


def test_same_module_name_in_two_code_dirs(tmp_path: Path) -> None:
    _write(tmp_path, "one/app.py", "import helper\ndef handler(e, c): return helper.WHO\n")
    _write(tmp_path, "one/helper.py", "WHO = 'one'\n")
    _write(tmp_path, "two/app.py", "import helper\ndef handler(e, c): return helper.WHO\n")
    _write(tmp_path, "two/helper.py", "WHO = 'two'\n")
    one = load_handler(Function(name="one", handler="app.handler", code_dir=tmp_path / "one"))
    two = load_handler(Function(name="two", handler="app.handler", code_dir=tmp_path / "two"))
    assert one(None, None) == "one"
    assert two(None, None) == "two"


def test_load_errors_name_the_function(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", "def handler(e, c): return 1\nVALUE = 3\n")
    with pytest.raises(FunctionError, match="'f'.*cannot import module 'nope'"):
        load_handler(Function(name="f", handler="nope.handler", code_dir=tmp_path))
    with pytest.raises(FunctionError, match="no attribute 'missing'"):
        load_handler(Function(name="f", handler="app.missing", code_dir=tmp_path))
    with pytest.raises(FunctionError, match="'VALUE' is not callable"):
        load_handler(Function(name="f", handler="app.VALUE", code_dir=tmp_path))
    with pytest.raises(FunctionError, match="code directory does not exist"):
        load_handler(Function(name="f", handler="app.handler", code_dir=tmp_path / "gone"))
    _write(tmp_path, "broken.py", "raise RuntimeError('boom')\n")
    with pytest.raises(FunctionError, match="importing 'broken' failed: RuntimeError: boom"):
        load_handler(Function(name="f", handler="broken.handler", code_dir=tmp_path))


def test_a_missing_module_is_told_from_a_missing_dependency(tmp_path: Path) -> None:
    _write(tmp_path, "needs.py", "import framer_no_such_dependency\ndef handler(e, c): pass\n")
    _write(tmp_path, "pkg/__init__.py", "")
    with pytest.raises(FunctionError, match=r"'f'.*importing 'needs' failed: ModuleNotFoundError: "
                       r"No module named 'framer_no_such_dependency'") as caught:
        load_handler(Function(name="f", handler="needs.handler", code_dir=tmp_path))
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)  # the user's traceback
    with pytest.raises(FunctionError, match="cannot import module 'pkg.gone'"):
        load_handler(Function(name="f", handler="pkg/gone.handler", code_dir=tmp_path))


def test_a_missing_boto3_says_lambda_provides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "chat.py", "import boto3\ndef handler(e, c): pass\n")
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed: its import raises
    with pytest.raises(FunctionError, match=r"importing 'chat' failed: ModuleNotFoundError: .*boto3.*"
                       r"Lambda's Python runtime provides boto3.*pip install 'framer\[lambda\]'"):
        load_handler(Function(name="f", handler="chat.handler", code_dir=tmp_path))
    _write(tmp_path, "other.py", "import framer_no_such_dependency\n")
    with pytest.raises(FunctionError) as caught:
        load_handler(Function(name="f", handler="other.handler", code_dir=tmp_path))
    assert "framer[lambda]" not in str(caught.value)


@pytest.mark.parametrize("handler", ["noattr.", "nodots", "mod:"])
def test_a_function_with_a_handler_of_no_form_is_refused(handler: str) -> None:
    with pytest.raises(FunctionError, match=f"function 'f': Handler '{handler}' must be "
                       "module:callable or file_or_module.function"):
        Function(name="f", handler=handler)


def test_function_for_a_module_level_callable(tmp_path: Path) -> None:
    import asyncio
    import sys

    from framer.functions import Returned, WorkerRunner, function_for

    _write(tmp_path, "pkg/__init__.py", "")
    _write(tmp_path, "pkg/handlers.py", """
        class Chat:
            @staticmethod
            def on_message(event, context):
                return "pkg " + event["body"]
        def echo(event, context):
            return event["body"]
    """)
    sys.path.insert(0, str(tmp_path))
    try:
        import pkg.handlers as handlers  # type: ignore[import-not-found]

        echo = function_for(handlers.echo, timeout_s=5)
        method = function_for(handlers.Chat.on_message, name="chat")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "pkg" or n.startswith("pkg.")]:
            del sys.modules[name]
    assert (echo.name, echo.handler, echo.code_dir, echo.timeout_s) == \
        ("echo", "pkg.handlers:echo", tmp_path.resolve(), 5)
    assert (method.name, method.handler) == ("chat", "pkg.handlers:Chat.on_message")

    async def main() -> list[object]:
        async with WorkerRunner() as runner:
            return [await runner.invoke(fn, {"body": "hi"}, request_id="r") for fn in (echo, method)]

    assert asyncio.run(main()) == [Returned("hi"), Returned("pkg hi")]

    def local(event: object, context: object) -> None:
        return None

    with pytest.raises(FunctionError, match="top level of a module"):
        function_for(local)
    with pytest.raises(FunctionError, match="top level of a module"):
        function_for(lambda e, c: None)
