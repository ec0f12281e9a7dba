"""Reading templates: YAML short forms, dates, lines; JSON without PyYAML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from framer.template import TemplateError
from framer.template._documents import load_document

from .conftest import EXAMPLES, ROOT, write


def test_every_short_form_becomes_its_long_form(tmp_path: Path) -> None:
    path = write(tmp_path, """
        A: !Ref X
        B: !GetAtt Fn.Arn
        C: !GetAtt [Fn, Arn]
        D: !Sub "${X}-y"
        E: !Join [",", [a, b]]
        F: !Select [0, [a]]
        G: !Split [",", "a,b"]
        H: !If [Cond, a, b]
        I: !Equals [a, b]
        J: !Not [!Condition Cond]
        K: !And [!Condition Cond, !Condition Cond]
        L: !Or [!Condition Cond, !Condition Cond]
        M: !FindInMap [Map, K1, K2]
        N: !Base64 text
        O: !GetAZs ""
        P: !ImportValue exported
        Q: !Condition Cond
    """)
    doc = load_document(path)
    assert doc["A"] == {"Ref": "X"}
    assert doc["B"] == doc["C"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert doc["D"] == {"Fn::Sub": "${X}-y"}
    assert doc["E"] == {"Fn::Join": [",", ["a", "b"]]}
    assert doc["F"] == {"Fn::Select": [0, ["a"]]}
    assert doc["G"] == {"Fn::Split": [",", "a,b"]}
    assert doc["H"] == {"Fn::If": ["Cond", "a", "b"]}
    assert doc["I"] == {"Fn::Equals": ["a", "b"]}
    assert doc["J"] == {"Fn::Not": [{"Condition": "Cond"}]}
    assert doc["K"] == {"Fn::And": [{"Condition": "Cond"}] * 2}
    assert doc["L"] == {"Fn::Or": [{"Condition": "Cond"}] * 2}
    assert doc["M"] == {"Fn::FindInMap": ["Map", "K1", "K2"]}
    assert doc["N"] == {"Fn::Base64": "text"}
    assert doc["O"] == {"Fn::GetAZs": ""}
    assert doc["P"] == {"Fn::ImportValue": "exported"}
    assert doc["Q"] == {"Condition": "Cond"}


def test_dates_stay_strings(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "AWSTemplateFormatVersion: 2010-09-09\n"))
    assert doc["AWSTemplateFormatVersion"] == "2010-09-09"


def test_unknown_tag_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "A: 1\nB: !Nope x\n")
    with pytest.raises(TemplateError) as info:
        load_document(path)
    assert str(info.value).startswith(f"{path}:2: unknown tag !Nope")


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "A: 1\nB: [unclosed\nC: 2\n")
    with pytest.raises(TemplateError) as info:
        load_document(path)
    assert info.value.file == str(path) and info.value.line is not None
    assert "invalid YAML" in str(info.value)


def test_invalid_json_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "Resources": {\n    "A": ,\n  }\n}\n', "t.json")
    with pytest.raises(TemplateError) as info:
        load_document(path)
    assert str(info.value).startswith(f"{path}:3: invalid JSON")


def test_json_template_runs_without_pyyaml() -> None:
    # PyYAML made unimportable: the CDK example (JSON) still loads and serves.
    script = (
        "import sys; sys.modules['yaml'] = None\n"
        "from pathlib import Path\n"
        "from framer.template import TemplateGateway\n"
        "g = TemplateGateway.open(Path('cdk-chat/cdk.out/CdkChatStack.template.json'))\n"
        "print([r.route_key for r in g.model.apis[0].routes])\n"
        "from framer.template import TemplateError\n"
        "try:\n"
        "    TemplateGateway.open(Path('sam-chat/template.yaml'))\n"
        "except TemplateError as exc:\n"
        "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=EXAMPLES, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "['$connect', '$disconnect', 'sendmessage']"
    assert lines[1] == "sam-chat/template.yaml: reading a YAML template needs PyYAML: " \
                       "pip install 'framer[template]' (JSON templates need nothing)"
