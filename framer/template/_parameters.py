"""A template's ``Parameters`` and the pseudo parameters.

Values come from ``--parameter-overrides`` (``Key=Value`` pairs as ``sam
deploy`` takes them, or ``ParameterKey=K,ParameterValue=V``), else the
parameter's ``Default``. Each is checked against ``AllowedValues``,
``AllowedPattern`` (the whole value must match), ``MinLength``/``MaxLength``
and ``MinValue``/``MaxValue``; ``CommaDelimitedList`` and ``List<...>`` types
become lists ("Parameters", AWS CloudFormation User Guide).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ._errors import TemplateError

__all__ = ["Pseudo", "parse_overrides", "resolve_parameters"]


@dataclass(frozen=True, slots=True)
class Pseudo:
    """The pseudo parameters' values (``AWS::Region`` and the rest)."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "framer"

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn`` or ``aws-us-gov`` by region."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def values(self) -> dict[str, Any]:
        """Name -> value for every pseudo parameter (``AWS::NoValue`` is the
        caller's ``NO_VALUE``)."""
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return {
            "AWS::Region": self.region, "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name, "AWS::Partition": self.partition,
            "AWS::URLSuffix": suffix, "AWS::NotificationARNs": [],
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:"
                            f"{self.account_id}:stack/{self.stack_name}/"
                            "00000000-0000-0000-0000-000000000000",
        }


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``Key=Value`` (or ``ParameterKey=K,ParameterValue=V``) items, each
    possibly several separated by spaces, into a dict; ``ValueError`` naming
    the bad item."""
    out: dict[str, str] = {}
    for item in items:
        for word in shlex.split(item):
            match = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", word)
            if match is not None:
                out[match.group(1)] = match.group(2)
                continue
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise ValueError(f"--parameter-overrides: {word!r} is not Key=Value")
            out[key] = value
    return out


def _check(name: str, spec: Mapping[str, Any], value: str, where: str) -> Any:
    kind = str(spec.get("Type", "String"))
    listy = kind == "CommaDelimitedList" or kind.startswith("List<")
    items = [v.strip() for v in value.split(",")] if listy else [value]
    allowed = spec.get("AllowedValues")
    pattern = spec.get("AllowedPattern")
    why = spec.get("ConstraintDescription")
    for item in items:
        if allowed is not None and item not in [str(a) for a in allowed]:
            raise TemplateError(f"value {item!r} is not one of AllowedValues "
                                f"{[str(a) for a in allowed]}" + (f" ({why})" if why else ""),
                                where=where)
        if pattern is not None and re.fullmatch(str(pattern), item) is None:
            raise TemplateError(f"value {item!r} does not match AllowedPattern {pattern!r}"
                                + (f" ({why})" if why else ""), where=where)
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            raise TemplateError(f"value {item!r} is shorter than MinLength "
                                f"{spec['MinLength']}", where=where)
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            raise TemplateError(f"value {item!r} is longer than MaxLength "
                                f"{spec['MaxLength']}", where=where)
        if kind in ("Number", "List<Number>"):
            try:
                number = float(item)
            except ValueError:
                raise TemplateError(f"value {item!r} is not a Number", where=where) from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise TemplateError(f"value {item} is below MinValue {spec['MinValue']}",
                                    where=where)
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise TemplateError(f"value {item} is above MaxValue {spec['MaxValue']}",
                                    where=where)
    return items if listy else value


def resolve_parameters(declared: Any, overrides: Mapping[str, str]) -> dict[str, Any]:
    """Each declared parameter's value, checked; ``TemplateError`` naming
    ``Parameters.NAME`` for a missing or bad value or an unknown override."""
    if declared is None:
        declared = {}
    if not isinstance(declared, dict):
        raise TemplateError("Parameters must be a map", where="Parameters")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"--parameter-overrides names parameter(s) {', '.join(unknown)} "
                            f"that the template does not declare (it declares: "
                            f"{', '.join(declared) or 'none'})", where="Parameters")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        where = f"Parameters.{name}"
        if not isinstance(spec, dict):
            raise TemplateError("a parameter must be a map with a Type", where=where)
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            default = spec["Default"]
            raw = ",".join(str(v) for v in default) if isinstance(default, list) \
                else str(default).lower() if isinstance(default, bool) else str(default)
        else:
            raise TemplateError("no value: the parameter has no Default; give one with "
                                f"--parameter-overrides {name}=VALUE", where=where)
        values[name] = _check(name, spec, raw, where)
    return values
