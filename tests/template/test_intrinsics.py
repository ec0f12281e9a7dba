"""Intrinsic functions, each against its documented meaning, read through a
template's Outputs (as ``aws cloudformation describe-stacks`` shows them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from framer.template import TemplateError

from .conftest import open_template

HEAD = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: prod}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Sizes:
    prod: {Memory: "512"}
    dev: {Memory: "128"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [x, x]]
  Either: !Or [!Condition IsDev, !Equals [1, "1"]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: chat-connections}
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: worker
      Runtime: nodejs20.x
      Handler: index.handler
      Code: {ZipFile: "exports.handler = async () => ({})"}
Outputs:
"""


def outputs(tmp_path: Path, **values: str) -> dict[str, Any]:
    body = "".join(f"  {name}:\n    Value: {expr}\n" for name, expr in values.items())
    return dict(open_template(tmp_path, HEAD + body, stack_name="chat").model.outputs)


def test_ref_parameters_pseudo_parameters_and_resources(tmp_path: Path) -> None:
    got = outputs(tmp_path, P="!Ref Env", R="!Ref AWS::Region", A="!Ref AWS::AccountId",
                  S="!Ref AWS::StackName", Pa="!Ref AWS::Partition", U="!Ref AWS::URLSuffix",
                  T="!Ref Table", B="!Ref Bucket", F="!Ref Fn", L="!Ref Names")
    assert got == {"P": "prod", "R": "us-east-1", "A": "123456789012", "S": "chat",
                   "Pa": "aws", "U": "amazonaws.com", "T": "chat-connections", "B": "Bucket",
                   "F": "worker", "L": ["a", "b", "c"]}


def test_get_att_gives_well_formed_arns(tmp_path: Path) -> None:
    got = outputs(tmp_path, F="!GetAtt Fn.Arn", T="!GetAtt [Table, Arn]",
                  S="!GetAtt Table.StreamArn", B="!GetAtt Bucket.Arn")
    assert got["F"] == "arn:aws:lambda:us-east-1:123456789012:function:worker"
    assert got["T"] == "arn:aws:dynamodb:us-east-1:123456789012:table/chat-connections"
    assert got["S"].startswith(got["T"] + "/stream/")
    assert got["B"] == "arn:aws:s3:::Bucket"


def test_get_att_of_an_unemulated_resource_never_fails(tmp_path: Path) -> None:
    got = outputs(tmp_path, W="!GetAtt Bucket.WebsiteURL", K="!GetAtt Table.KinesisStreamArn")
    assert got == {"W": "Bucket.WebsiteURL",
                   "K": "arn:aws:dynamodb:us-east-1:123456789012:table/chat-connections"}


def test_sub_forms(tmp_path: Path) -> None:
    got = outputs(tmp_path, A='!Sub "${Env}-${AWS::Region}-${Fn.Arn}"',
                  B='!Sub "${!Literal}-${Env}"',
                  C='!Sub ["${X}/${Env}", {X: !Ref Table}]')
    assert got["A"] == "prod-us-east-1-arn:aws:lambda:us-east-1:123456789012:function:worker"
    assert got["B"] == "${Literal}-prod"
    assert got["C"] == "chat-connections/prod"


def test_join_select_split(tmp_path: Path) -> None:
    got = outputs(tmp_path, J='!Join [":", [a, !Ref Env, "1"]]',
                  S="!Select [1, !Ref Names]", Sp='!Select [2, !Split ["/", "x/y/z"]]',
                  E='!Join ["", []]')
    assert got == {"J": "a:prod:1", "S": "b", "Sp": "z", "E": ""}


def test_conditions_if_and_no_value(tmp_path: Path) -> None:
    got = outputs(tmp_path, I="!If [IsProd, big, small]", N="!If [IsDev, big, small]",
                  A="!If [Both, both, none]", O="!If [Either, one, none]",
                  L='!Join [",", [a, !If [IsDev, b, !Ref AWS::NoValue], c]]')
    assert got == {"I": "big", "N": "small", "A": "both", "O": "one", "L": "a,c"}


def test_find_in_map_base64_get_azs_import_value(tmp_path: Path) -> None:
    got = outputs(tmp_path, M="!FindInMap [Sizes, !Ref Env, Memory]",
                  D="!FindInMap [Sizes, staging, Memory, {DefaultValue: '256'}]",
                  B64="!Base64 hello", Z='!Select [0, !GetAZs ""]',
                  I="!ImportValue shared-vpc")
    assert got["M"] == "512" and got["D"] == "256"
    assert base64.b64decode(got["B64"]) == b"hello"
    assert got["Z"] == "us-east-1a"
    assert got["I"] == "imported-shared-vpc"


def test_long_forms_in_json(tmp_path: Path) -> None:
    document = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "news"}}},
        "Conditions": {"Dev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]}},
        "Outputs": {
            "A": {"Value": {"Fn::Join": ["-", [{"Ref": "Env"}, {"Fn::GetAtt": ["T", "TopicName"]}]]}},
            "B": {"Value": {"Fn::If": ["Dev", {"Fn::Sub": "${AWS::Partition}"}, "x"]}},
            "C": {"Value": {"Fn::Select": ["0", {"Fn::Split": [",", "p,q"]}]}},
            "D": {"Value": {"Ref": "T"}},
        },
    }
    got = open_template(tmp_path, json.dumps(document), "t.json").model.outputs
    assert got == {"A": "dev-news", "B": "aws", "C": "p",
                   "D": "arn:aws:sns:us-east-1:123456789012:news"}


@pytest.mark.parametrize(("expr", "fragment"), [
    ("!Ref Nothing", "Ref to 'Nothing': no parameter, pseudo parameter or resource"),
    ("!GetAtt Nothing.Arn", "no resource named 'Nothing'"),
    ("!GetAtt Fn.Colour", "Fn has no attribute 'Colour' (it has: Arn)"),
    ("{'Fn::Nope': [1]}", "unknown intrinsic function Fn::Nope"),
    ("!Select [3, !Ref Names]", "index 3 is out of range for a list of 3"),
    ("!FindInMap [Sizes, staging, Memory]", "no top-level key 'staging'"),
    ("!If [Unknown, a, b]", "no condition named 'Unknown'"),
])
def test_bad_intrinsics_name_the_output(tmp_path: Path, expr: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        outputs(tmp_path, Bad=expr)
    assert info.value.where == "Outputs.Bad.Value" and fragment in info.value.problem
    assert info.value.line == HEAD.count("\n") + 1


def test_language_extension_functions(tmp_path: Path) -> None:
    got = outputs(tmp_path, L="!Length [a, b, c]", J="!ToJsonString {k: !Ref Env}",
                  C='!Select [1, !Cidr ["10.0.0.0/16", 3, 8]]')
    assert got == {"L": 3, "J": '{"k":"prod"}', "C": "10.0.1.0/24"}
