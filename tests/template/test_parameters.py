"""Parameters: Default, AllowedValues, AllowedPattern, lengths, numbers, lists,
and --parameter-overrides as sam takes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from framer.template import TemplateError
from framer.template._parameters import parse_overrides

from .conftest import open_template

TEMPLATE = """
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Token:
    Type: String
    Default: abcd
    AllowedPattern: "[a-z]{4,8}"
    ConstraintDescription: four to eight lowercase letters
  Name:
    Type: String
    Default: chat
    MinLength: 2
    MaxLength: 5
  Size:
    Type: Number
    Default: 10
    MinValue: 1
    MaxValue: 100
  Zones:
    Type: CommaDelimitedList
    Default: "a, b"
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Stage: {Value: !Ref Stage}
  Token: {Value: !Ref Token}
  Name: {Value: !Ref Name}
  Size: {Value: !Ref Size}
  Zones: {Value: !Join ["+", !Ref Zones]}
"""


def values(tmp_path: Path, **overrides: str) -> dict[str, object]:
    return dict(open_template(tmp_path, TEMPLATE, overrides=overrides).model.outputs)


def test_defaults(tmp_path: Path) -> None:
    assert values(tmp_path) == {"Stage": "dev", "Token": "abcd", "Name": "chat",
                                "Size": "10", "Zones": "a+b"}


def test_overrides_at_the_boundaries_pass(tmp_path: Path) -> None:
    got = values(tmp_path, Stage="prod", Token="abcdefgh", Name="ab", Size="100", Zones="x")
    assert got == {"Stage": "prod", "Token": "abcdefgh", "Name": "ab", "Size": "100",
                   "Zones": "x"}
    assert values(tmp_path, Name="abcde", Size="1")["Name"] == "abcde"


@pytest.mark.parametrize(("override", "fragment"), [
    ({"Stage": "test"}, "value 'test' is not one of AllowedValues ['dev', 'prod']"),
    ({"Token": "abcdefghi"}, "does not match AllowedPattern '[a-z]{4,8}' (four to eight"),
    ({"Token": "abc"}, "does not match AllowedPattern"),
    ({"Token": "ABCD"}, "does not match AllowedPattern"),
    ({"Name": "a"}, "shorter than MinLength 2"),
    ({"Name": "abcdef"}, "longer than MaxLength 5"),
    ({"Size": "0"}, "below MinValue 1"),
    ({"Size": "101"}, "above MaxValue 100"),
    ({"Size": "ten"}, "is not a Number"),
])
def test_bad_values_name_the_parameter(tmp_path: Path, override: dict[str, str],
                                       fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        values(tmp_path, **override)
    name = next(iter(override))
    assert info.value.where == f"Parameters.{name}" and fragment in info.value.problem
    assert info.value.line == TEMPLATE.splitlines().index(f"  {name}:")


def test_unknown_override_and_missing_value(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="names parameter.s. Colour that the template"):
        values(tmp_path, Colour="red")
    with pytest.raises(TemplateError, match="no Default; give one with --parameter-overrides "
                                            "Needed=VALUE"):
        open_template(tmp_path, "Parameters:\n  Needed: {Type: String}\n"
                                "Resources:\n  T: {Type: AWS::SNS::Topic}\n")


def test_override_syntaxes() -> None:
    assert parse_overrides(["A=1", "B=two words=ok"]) == {"A": "1", "B": "two"} | \
        {"words": "ok"}
    assert parse_overrides(["A=1 B=2", "ParameterKey=C,ParameterValue=x,y"]) == \
        {"A": "1", "B": "2", "C": "x,y"}
    assert parse_overrides(["'Msg=hello world'"]) == {"Msg": "hello world"}
    with pytest.raises(ValueError, match="'oops' is not Key=Value"):
        parse_overrides(["oops"])
