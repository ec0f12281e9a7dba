"""CloudFormation's intrinsic functions, evaluated against a ``Scope``.

Long forms (``{"Fn::Join": [...]}``, ``{"Ref": ...}``); the YAML reader turns
short forms into these. Meanings follow the "Intrinsic function reference"
of the AWS CloudFormation User Guide: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``
(``${Name}``, ``${Name.Attr}``, ``${!Literal}``, a variable map),
``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` (with
``AWS::NoValue``), ``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``,
``Fn::FindInMap`` (with the language extensions' ``DefaultValue``),
``Fn::Base64``, ``Fn::GetAZs``, ``Fn::ImportValue``, ``Fn::Length``,
``Fn::ToJsonString``, ``Fn::Cidr`` and ``Condition``.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from typing import Any, Callable, Iterator

from ._errors import TemplateError

__all__ = ["NO_VALUE", "Scope", "references"]

Path = tuple[Any, ...]

#: What ``Ref: AWS::NoValue`` gives: the property (or list item) is removed.
NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "AWS::NoValue"})()

_SUB = re.compile(r"\$\{([^}]*)\}")


def _sub_names(text: str) -> Iterator[str]:
    for match in _SUB.finditer(text):
        name = match.group(1).strip()
        if name and not name.startswith("!"):
            yield name


def references(value: Any) -> set[str]:
    """Every name ``value`` refers to with ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``
    (parameters, pseudo parameters and resources alike; the caller filters)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                key, arg = next(iter(node.items()))
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                    return
                if key == "Fn::GetAtt":
                    if isinstance(arg, list) and arg and isinstance(arg[0], str):
                        found.add(arg[0])
                    elif isinstance(arg, str):
                        found.add(arg.partition(".")[0])
                    walk(arg[1:] if isinstance(arg, list) else None)
                    return
                if key == "Fn::Sub":
                    text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 \
                        else (arg, {})
                    if isinstance(text, str):
                        bound = set(variables) if isinstance(variables, dict) else set()
                        found.update(n.partition(".")[0] for n in _sub_names(text)
                                     if n not in bound)
                    walk(variables)
                    return
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return found


class Scope:
    """What names mean while a template is evaluated.

    ``values`` holds parameters and pseudo parameters by name; ``ref`` and
    ``get_att`` answer for resources (called with the logical id, the
    attribute and the path for errors); ``condition`` answers a named condition.
    """

    def __init__(self, *, values: dict[str, Any], mappings: dict[str, Any],
                 ref: Callable[[str, Path], Any], get_att: Callable[[str, str, Path], Any],
                 condition: Callable[[str, Path], bool], region: str,
                 error: Callable[[str, Path], TemplateError]) -> None:
        self.values = values
        self.mappings = mappings
        self._ref = ref
        self._get_att = get_att
        self._condition = condition
        self.region = region
        self.error = error

    # -- entry points -----------------------------------------------------------

    def resolve(self, value: Any, path: Path) -> Any:
        """``value`` with every intrinsic function evaluated; ``AWS::NoValue``
        entries removed (the whole value may be ``NO_VALUE``)."""
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if isinstance(key, str) and (key == "Ref" or key.startswith("Fn::") or (
                        key == "Condition" and self._in_condition_context(path))):
                    return self._call(key, value[key], path + (key,))
            out = {}
            for k, item in value.items():
                got = self.resolve(item, path + (k,))
                if got is not NO_VALUE:
                    out[k] = got
            return out
        if isinstance(value, list):
            items = [self.resolve(item, path + (i,)) for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        return value

    @staticmethod
    def _in_condition_context(path: Path) -> bool:
        # ``{"Condition": "Name"}`` is a function only inside Conditions and
        # condition functions (Fn::And/Or/Not/If); elsewhere it may be data.
        return bool(path) and (path[0] == "Conditions" or any(
            p in ("Fn::And", "Fn::Or", "Fn::Not") for p in path))

    def test(self, value: Any, path: Path) -> bool:
        """Evaluate a condition expression to a boolean."""
        got = self.resolve(value, path)
        if isinstance(got, str) and got.lower() in ("true", "false"):
            return got.lower() == "true"
        if not isinstance(got, bool):
            raise self.error(f"a condition must evaluate to true or false, got {got!r}", path)
        return got

    # -- the functions -------------------------------------------------------------

    def _call(self, name: str, arg: Any, path: Path) -> Any:
        method = _FUNCTIONS.get(name)
        if method is None:
            raise self.error(f"unknown intrinsic function {name}: framer knows "
                             + ", ".join(sorted(_FUNCTIONS)), path)
        return method(self, arg, path)

    def _string(self, value: Any, path: Path, what: str) -> str:
        got = self.resolve(value, path)
        if isinstance(got, bool):
            return "true" if got else "false"
        if isinstance(got, (int, float)):
            return str(got)
        if not isinstance(got, str):
            raise self.error(f"{what} must be a string, got {got!r}", path)
        return got

    def _list(self, value: Any, path: Path, what: str) -> list[Any]:
        got = self.resolve(value, path)
        if not isinstance(got, list):
            raise self.error(f"{what} must be a list, got {got!r}", path)
        return got

    def _args(self, arg: Any, path: Path, name: str, count: int) -> list[Any]:
        if not isinstance(arg, list) or len(arg) != count:
            raise self.error(f"{name} takes a list of {count} arguments, got {arg!r}", path)
        return arg

    def ref(self, arg: Any, path: Path) -> Any:
        name = arg if isinstance(arg, str) else self.resolve(arg, path)
        if not isinstance(name, str):
            raise self.error(f"Ref takes a name, got {arg!r}", path)
        if name in self.values:
            return self.values[name]
        return self._ref(name, path)

    def get_att(self, arg: Any, path: Path) -> Any:
        if isinstance(arg, str) and "." in arg:
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str):
            raise self.error(f"Fn::GetAtt takes [LogicalId, Attribute], got {arg!r}", path)
        attribute = self._string(arg[1], path + (1,), "Fn::GetAtt's attribute")
        return self._get_att(arg[0], attribute, path)

    def sub(self, arg: Any, path: Path) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            text, given = self._args(arg, path, "Fn::Sub", 2)
            if not isinstance(given, dict):
                raise self.error("Fn::Sub's second argument must be a map of variables", path)
            variables = {k: self.resolve(v, path + (1, k)) for k, v in given.items()}
        else:
            text = arg
        if not isinstance(text, str):
            raise self.error(f"Fn::Sub takes a string, got {text!r}", path)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + match.group(1)[1:] + "}"
            if name in variables:
                value = variables[name]
            elif name in self.values:
                value = self.values[name]
            elif "." in name:
                logical, _, attribute = name.partition(".")
                value = self._get_att(logical, attribute, path)
            else:
                value = self._ref(name, path)
            if isinstance(value, list):
                raise self.error(f"Fn::Sub variable ${{{name}}} is a list, not a string", path)
            return str(value)

        return _SUB.sub(replace, text)

    def join(self, arg: Any, path: Path) -> str:
        delimiter, items = self._args(arg, path, "Fn::Join", 2)
        sep = self._string(delimiter, path + (0,), "Fn::Join's delimiter")
        values = self._list(items, path + (1,), "Fn::Join's values")
        return sep.join(self._string(v, path + (1, i), "each Fn::Join value")
                        for i, v in enumerate(values))

    def select(self, arg: Any, path: Path) -> Any:
        index, items = self._args(arg, path, "Fn::Select", 2)
        position = self.resolve(index, path + (0,))
        try:
            position = int(position)
        except (TypeError, ValueError):
            raise self.error(f"Fn::Select's index must be a number, got {position!r}",
                             path) from None
        values = self._list(items, path + (1,), "Fn::Select's list")
        if not 0 <= position < len(values):
            raise self.error(f"Fn::Select index {position} is out of range for a list of "
                             f"{len(values)}", path)
        return values[position]

    def split(self, arg: Any, path: Path) -> list[str]:
        delimiter, text = self._args(arg, path, "Fn::Split", 2)
        sep = self._string(delimiter, path + (0,), "Fn::Split's delimiter")
        if not sep:
            raise self.error("Fn::Split's delimiter must not be empty", path)
        return self._string(text, path + (1,), "Fn::Split's source").split(sep)

    def if_(self, arg: Any, path: Path) -> Any:
        name, when_true, when_false = self._args(arg, path, "Fn::If", 3)
        if not isinstance(name, str):
            raise self.error(f"Fn::If's first argument must be a condition name, got {name!r}",
                             path)
        if self._condition(name, path):
            return self.resolve(when_true, path + (1,))
        return self.resolve(when_false, path + (2,))

    def equals(self, arg: Any, path: Path) -> bool:
        left, right = self._args(arg, path, "Fn::Equals", 2)
        a, b = self.resolve(left, path + (0,)), self.resolve(right, path + (1,))
        return bool(_scalar(a) == _scalar(b))

    def not_(self, arg: Any, path: Path) -> bool:
        (value,) = self._args(arg, path, "Fn::Not", 1)
        return not self.test(value, path + (0,))

    def and_(self, arg: Any, path: Path) -> bool:
        if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
            raise self.error("Fn::And takes 2 to 10 conditions", path)
        return all(self.test(v, path + (i,)) for i, v in enumerate(arg))

    def or_(self, arg: Any, path: Path) -> bool:
        if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
            raise self.error("Fn::Or takes 2 to 10 conditions", path)
        return any(self.test(v, path + (i,)) for i, v in enumerate(arg))

    def condition(self, arg: Any, path: Path) -> bool:
        if not isinstance(arg, str):
            raise self.error(f"Condition takes a condition name, got {arg!r}", path)
        return self._condition(arg, path)

    def find_in_map(self, arg: Any, path: Path) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise self.error("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]", path)
        keys = [self._string(k, path + (i,), "each Fn::FindInMap key")
                for i, k in enumerate(arg[:3])]
        default = arg[3].get("DefaultValue") if len(arg) == 4 and isinstance(arg[3], dict) \
            else None
        node: Any = self.mappings
        for depth, key in enumerate(keys):
            if not isinstance(node, dict) or key not in node:
                if default is not None:
                    return self.resolve(default, path + (3, "DefaultValue"))
                what = ("mapping", "top-level key", "second-level key")[depth]
                raise self.error(f"Fn::FindInMap: no {what} {key!r} in Mappings."
                                 + ".".join(keys[:depth]).rstrip("."), path)
            node = node[key]
        return node

    def base64(self, arg: Any, path: Path) -> str:
        text = self._string(arg, path, "Fn::Base64's value")
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    def get_azs(self, arg: Any, path: Path) -> list[str]:
        region = self._string(arg, path, "Fn::GetAZs's region") or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def import_value(self, arg: Any, path: Path) -> str:
        # Another stack's export: there is no other stack here.
        return "imported-" + self._string(arg, path, "Fn::ImportValue's name")

    def length(self, arg: Any, path: Path) -> int:
        return len(self._list(arg, path, "Fn::Length's value"))

    def to_json_string(self, arg: Any, path: Path) -> str:
        return json.dumps(self.resolve(arg, path), separators=(",", ":"))

    def cidr(self, arg: Any, path: Path) -> list[str]:
        block, count, bits = self._args(arg, path, "Fn::Cidr", 3)
        network = ipaddress.ip_network(self._string(block, path + (0,), "Fn::Cidr's block"))
        prefix = network.max_prefixlen - int(self.resolve(bits, path + (2,)))
        subnets = network.subnets(new_prefix=prefix)
        return [str(next(subnets)) for _ in range(int(self.resolve(count, path + (1,))))]


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


_FUNCTIONS: dict[str, Callable[[Scope, Any, Path], Any]] = {
    "Ref": Scope.ref, "Condition": Scope.condition,
    "Fn::GetAtt": Scope.get_att, "Fn::Sub": Scope.sub, "Fn::Join": Scope.join,
    "Fn::Select": Scope.select, "Fn::Split": Scope.split, "Fn::If": Scope.if_,
    "Fn::Equals": Scope.equals, "Fn::Not": Scope.not_, "Fn::And": Scope.and_,
    "Fn::Or": Scope.or_, "Fn::FindInMap": Scope.find_in_map, "Fn::Base64": Scope.base64,
    "Fn::GetAZs": Scope.get_azs, "Fn::ImportValue": Scope.import_value,
    "Fn::Length": Scope.length, "Fn::ToJsonString": Scope.to_json_string,
    "Fn::Cidr": Scope.cidr,
}
