"""Lambda's environment variables and SAM's --env-vars file, from real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from framer.functions import EnvVarsFile, Function, FunctionError, lambda_environment


def test_env_vars_file_rules(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text('{"Parameters": {"TABLE": "all", "DEBUG": true, "N": 3},'
                    ' "Chat": {"TABLE": "chat-only"}, "Other": {"TABLE": "other"}}')
    env_vars = EnvVarsFile.load(path)
    chat = Function(name="Chat", handler="app.h", environment={"TABLE": "t", "DEBUG": "0", "KEEP": "k"})
    plain = Function(name="Plain", handler="app.h", environment={"TABLE": "t", "N": "1"})
    bare = Function(name="Bare", handler="app.h")
    assert env_vars.variables_for(chat) == {"TABLE": "chat-only", "DEBUG": "true", "KEEP": "k"}
    assert env_vars.variables_for(plain) == {"TABLE": "all", "N": "3"}
    assert env_vars.variables_for(bare) == {}
    env = lambda_environment(chat, region="ap-south-1", log_stream_name="s", base={"PATH": "/bin"},
                             env_vars=env_vars)
    assert (env["PATH"], env["TABLE"], env["AWS_REGION"]) == ("/bin", "chat-only", "ap-south-1")


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object of objects"),
    ('{"Parameters": "x"}', "'Parameters' must be an object of variables"),
    ('{"Chat": {"TABLE": {"nested": 1}}}', "Chat.TABLE must be a string, number or boolean"),
])
def test_env_vars_file_errors_name_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(text)
    with pytest.raises(FunctionError, match=f"env-vars file '{path}': .*{problem}"):
        EnvVarsFile.load(path)


def test_env_vars_file_missing(tmp_path: Path) -> None:
    with pytest.raises(FunctionError, match="env-vars file .*nope.json.*cannot read it"):
        EnvVarsFile.load(tmp_path / "nope.json")


def test_placeholder_credentials_only_without_configured_ones(tmp_path: Path) -> None:
    fn = Function(name="f", handler="app.h")
    bare = lambda_environment(fn, log_stream_name="s", base={"HOME": str(tmp_path)})
    assert bare["AWS_ACCESS_KEY_ID"] == "AKIAFRAMERLOCAL00000"
    profile = lambda_environment(fn, log_stream_name="s",
                                 base={"HOME": str(tmp_path), "AWS_PROFILE": "dev"})
    assert "AWS_ACCESS_KEY_ID" not in profile
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\n")
    with_file = lambda_environment(fn, log_stream_name="s", base={"HOME": str(tmp_path)})
    assert "AWS_ACCESS_KEY_ID" not in with_file
    own = Function(name="g", handler="app.h", environment={"AWS_ACCESS_KEY_ID": "AKIAOWN"})
    assert lambda_environment(own, log_stream_name="s", base={"HOME": str(tmp_path / "x")}
                              )["AWS_ACCESS_KEY_ID"] == "AKIAOWN"


def test_given_credentials_replace_the_configured_ones(tmp_path: Path) -> None:
    """``RunnerOptions.credentials`` (``--require-sigv4 --access-key``) win over
    the environment's key, session token and profile."""
    fn = Function(name="f", handler="app.h")
    base = {"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_SESSION_TOKEN": "t", "AWS_PROFILE": "dev"}
    env = lambda_environment(fn, log_stream_name="s", base=base, credentials=("AKIDGIVEN", "given"))
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("AKIDGIVEN", "given")
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env
