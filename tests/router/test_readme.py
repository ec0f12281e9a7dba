"""The README section's example runs and prints what it says."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

import framer.router


def test_readme_example_runs() -> None:
    readme = pathlib.Path(framer.router.__file__).with_name("README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith('{ "StageName": "test", "CreatedDate": ')
    assert lines[1] == "('{\"action\": \"echo\", \"x\": 1}',)"
    assert lines[2].startswith("('{\"message\": \"Forbidden\", \"connectionId\":\"")
