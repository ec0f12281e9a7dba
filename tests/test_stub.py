"""``framer/_fast.pyi`` describes the compiled twin exactly, so it cannot drift.

The stub is read as source (``ast``) and held against both twins: every name
it declares exists in each, no public name of theirs is missing from it, and
each function's and method's parameters (names, kinds, defaults) match.
Annotations are compared with the pure twin's, which carries the same ones
as text (``from __future__ import annotations``).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

STUB = Path(__file__).resolve().parent.parent / "framer" / "_fast.pyi"
COMPILED_ONLY = {"_use_avx2"}  # the kernels' test switch; the pure twin has no SIMD


class Param(NamedTuple):
    name: str
    kind: str
    default: str | None
    annotation: str | None  # None where the twin carries no annotations (compiled)


def _untyped(params: list[Param]) -> list[Param]:
    return [p._replace(annotation=None) for p in params]


def _stub() -> dict[str, ast.FunctionDef | ast.ClassDef]:
    tree = ast.parse(STUB.read_text(), str(STUB))
    return {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _params(node: ast.FunctionDef) -> list[Param]:
    """The parameters of a stub function."""
    args = node.args
    out: list[Param] = []
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in zip(positional, defaults):
        kind = "POSITIONAL_ONLY" if arg in args.posonlyargs else "POSITIONAL_OR_KEYWORD"
        out.append(Param(arg.arg, kind, _text(default), _text(arg.annotation)))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
        out.append(Param(arg.arg, "KEYWORD_ONLY", _text(kw_default), _text(arg.annotation)))
    return out


def _text(node: ast.expr | None) -> str | None:
    return None if node is None else ast.unparse(node)


def _runtime_params(func: Any) -> list[Param]:
    out: list[Param] = []
    for p in inspect.signature(func).parameters.values():
        default = None if p.default is p.empty else repr(p.default)
        annotation = None if p.annotation is p.empty else str(p.annotation)
        out.append(Param(p.name, p.kind.name, default, annotation))
    return out


def _public(module: ModuleType) -> set[str]:
    """Names a twin defines, itself or in the engine modules it is made of (the
    reader and the kernels), not imports from elsewhere: public ones and the kernels' switch."""
    return {
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name in COMPILED_ONLY)
        and str(getattr(value, "__module__", "")).startswith("framer.")
    }


def _members(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def _stub_members(node: ast.ClassDef) -> dict[str, ast.FunctionDef | None]:
    members: dict[str, ast.FunctionDef | None] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            members[item.name] = item
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members[item.target.id] = None
    return members


def test_stub_declares_exactly_the_compiled_modules_names(
    impl_pair: tuple[ModuleType, ModuleType],
) -> None:
    pure, compiled = impl_pair
    stub = _stub()
    assert set(stub) == _public(compiled)
    assert set(stub) - COMPILED_ONLY == _public(pure)


def test_stub_functions_match_both_twins(impl_pair: tuple[ModuleType, ModuleType]) -> None:
    pure, compiled = impl_pair
    for name, node in _stub().items():
        if not isinstance(node, ast.FunctionDef):
            continue
        want = _params(node)
        assert _untyped(_runtime_params(getattr(compiled, name))) == _untyped(want), name
        if name not in COMPILED_ONLY:
            assert _runtime_params(getattr(pure, name)) == want, name
            assert inspect.signature(getattr(pure, name)).return_annotation == _text(node.returns), name


def test_stub_classes_match_both_twins(impl_pair: tuple[ModuleType, ModuleType]) -> None:
    pure, compiled = impl_pair
    for name, node in _stub().items():
        if not isinstance(node, ast.ClassDef):
            continue
        members = _stub_members(node)
        public = set(members) - {"__init__"}
        assert public == _members(getattr(compiled, name)), name
        pure_cls = getattr(pure, name)
        for member, method in members.items():
            if method is None or any(_text(d) == "property" for d in method.decorator_list):
                continue
            want = _params(method)
            assert _runtime_params(getattr(pure_cls, member)) == want, f"{name}.{member}"
            if member != "__init__":
                compiled_method = getattr(getattr(compiled, name), member)
                assert _untyped(_runtime_params(compiled_method)) == _untyped(want), f"{name}.{member}"


def test_the_check_catches_a_drifted_stub(
    impl_pair: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stub whose parameter was renamed fails the function check."""
    drifted = tmp_path / "_fast.pyi"
    drifted.write_text(STUB.read_text().replace("def mask(data: Buffer,", "def mask(payload: Buffer,"))
    monkeypatch.setattr(f"{__name__}.STUB", drifted)
    with pytest.raises(AssertionError, match="mask"):
        test_stub_functions_match_both_twins(impl_pair)
