"""Reading template files: JSON, and YAML with CloudFormation's short-form tags.

``!Ref X`` becomes ``{"Ref": "X"}``, ``!GetAtt A.B`` becomes
``{"Fn::GetAtt": ["A", "B"]}``, ``!Condition C`` becomes ``{"Condition": "C"}``
and every other ``!Name v`` becomes ``{"Fn::Name": v}``, as CloudFormation
reads them ("Intrinsic function reference", AWS CloudFormation User Guide).
Dates stay strings (``AWSTemplateFormatVersion: 2010-09-09``), as in
CloudFormation. Mappings read from YAML are ``Lined`` dicts that remember
the line of each key, so errors can name it.

JSON needs nothing else; YAML needs PyYAML (``pip install 'framer[template]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from ._errors import TemplateError

__all__ = ["Lined", "load_document", "line_of", "SHORT_TAGS"]

#: The short forms CloudFormation's YAML reader knows (tag -> long form).
SHORT_TAGS = {
    "!Ref": "Ref", "!Condition": "Condition",
    **{f"!{name}": f"Fn::{name}" for name in (
        "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
        "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr", "Length", "ToJsonString",
        "Transform", "Contains", "EachMemberEquals", "EachMemberIn", "ValueOf",
        "ValueOfAll", "RefAll")},
}


class Lined(dict):  # type: ignore[type-arg]
    """A mapping read from YAML, with ``lines[key]`` the 1-based line of each key."""

    __slots__ = ("lines", "line")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.line = line


def line_of(document: Any, path: tuple[Any, ...]) -> Optional[int]:
    """The line of the deepest key of ``path`` that ``document`` knows, if any."""
    found: Optional[int] = None
    node = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            break
        if isinstance(node, Lined):
            found = node.lines.get(key, found)
        node = node[key]
    return found


def _yaml_loader() -> Any:
    try:
        import yaml
    except ImportError:
        return None
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def mapping(loader: Any, node: Any) -> Lined:
        out = Lined(node.start_mark.line + 1)
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            out[key] = loader.construct_object(value_node, deep=True)
            out.lines[key] = key_node.start_mark.line + 1
        return out

    def tagged(loader: Any, suffix: str, node: Any) -> Any:
        tag = "!" + suffix
        name = SHORT_TAGS.get(tag)
        if name is None:
            raise TemplateError(f"unknown tag {tag}: CloudFormation's short forms are "
                                + ", ".join(sorted(SHORT_TAGS)),
                                line=node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                logical, dot, attribute = str(value).partition(".")
                value = [logical, attribute] if dot else value
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = mapping(loader, node)
        out = Lined(node.start_mark.line + 1)
        out[name] = value
        out.lines[name] = node.start_mark.line + 1
        return out

    Loader.add_constructor("tag:yaml.org,2002:map", mapping)
    Loader.add_constructor("tag:yaml.org,2002:timestamp",
                           lambda loader, node: loader.construct_scalar(node))
    Loader.add_multi_constructor("!", tagged)
    return Loader


_LOADER: Any = None


def _loader() -> Any:
    """The YAML loader (made once), or ``None`` without PyYAML."""
    global _LOADER
    if _LOADER is None:
        _LOADER = _yaml_loader()
    return _LOADER


def _load_yaml(text: str, path: Path) -> Any:
    loader = _loader()
    if loader is None:
        raise TemplateError("reading a YAML template needs PyYAML: "
                            "pip install 'framer[template]' (JSON templates need nothing)",
                            file=path)
    import yaml

    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except TemplateError as exc:
        raise exc.located(file=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise TemplateError(f"invalid YAML: {exc.problem or exc.context}",
                            file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid YAML: {exc}", file=path) from None


def _load_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"invalid JSON: {exc.msg} (column {exc.colno})",
                            file=path, line=exc.lineno) from None


def load_document(path: Path) -> Any:
    """The parsed contents of a JSON or YAML file; ``TemplateError`` naming
    the file and line when it cannot be read or parsed. A ``.json`` file (or
    JSON text when PyYAML is missing) is read as JSON; the rest as YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", file=path) from None
    if path.suffix.lower() == ".json" or (text.lstrip().startswith("{") and _loader() is None):
        return _load_json(text, path)
    return _load_yaml(text, path)
