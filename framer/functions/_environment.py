"""A function's process environment, as Lambda sets it, and SAM's ``--env-vars`` file.

Lambda's reserved variables are listed in "Defined runtime environment
variables" (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
A worker starts from the server's own environment (``PATH``, ``HOME``, a
configured AWS profile), then gets Lambda's variables, then the function's.
Placeholder credentials are added only when no credentials are configured
(none in the environment, no shared credentials or config file), so botocore
can sign requests (to framer's @connections API) without asking for any.

``EnvVarsFile`` reads the file ``sam local invoke --env-vars`` takes
("Locally invoke Lambda functions with AWS SAM", "Environment variable file",
docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-using-invoke.html):
``{"Parameters": {...}, "FunctionName": {...}}``.  ``Parameters`` apply to
every function, a function's own object overrides them, and as in SAM only
variables the function declares (``Environment.Variables``) are overridden;
others in the file are ignored.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Optional

from ._spec import Function, FunctionError

__all__ = ["DEFAULT_REGION", "EnvVarsFile", "lambda_environment", "runtime_version"]

DEFAULT_REGION = "us-east-1"

# Variables through which botocore finds credentials without placeholders.
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE")
PLACEHOLDER_CREDENTIALS = MappingProxyType({
    "AWS_ACCESS_KEY_ID": "AKIAFRAMERLOCAL00000",
    "AWS_SECRET_ACCESS_KEY": "framer-local-placeholder-secret",
    "AWS_SESSION_TOKEN": "framer-local-placeholder-token",
})


@dataclass(frozen=True, slots=True)
class EnvVarsFile:
    """SAM's ``--env-vars`` file: global ``Parameters`` and per-function objects."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: os.PathLike[str] | str) -> EnvVarsFile:
        """Read and check the file; ``FunctionError`` names the file and the key."""
        where = f"env-vars file {os.fspath(path)!r}"
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise FunctionError(f"{where}: cannot read it: {exc.strerror}") from None
        except ValueError as exc:
            raise FunctionError(f"{where}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FunctionError(f"{where}: must be a JSON object of objects "
                                '({"Parameters": {...}, "FunctionName": {...}})')
        parameters: dict[str, str] = {}
        functions: dict[str, Mapping[str, str]] = {}
        for key, variables in data.items():
            if not isinstance(variables, dict):
                raise FunctionError(f"{where}: {key!r} must be an object of variables")
            values = {}
            for name, value in variables.items():
                if not isinstance(value, (str, int, float, bool)):
                    raise FunctionError(
                        f"{where}: {key}.{name} must be a string, number or boolean")
                values[name] = _text(value)
            if key == "Parameters":
                parameters = values
            else:
                functions[key] = MappingProxyType(values)
        return cls(MappingProxyType(parameters), MappingProxyType(functions))

    def variables_for(self, function: Function) -> dict[str, str]:
        """``function``'s declared variables with this file's overrides applied."""
        own = self.functions.get(function.name, {})
        return {name: own.get(name, self.parameters.get(name, value))
                for name, value in function.environment.items()}


def _text(value: object) -> str:
    if isinstance(value, bool):  # JSON true/false as SAM passes them to the container
        return "true" if value else "false"
    return str(value)


def runtime_version() -> str:
    """The ``python3.x`` runtime every worker really runs: this interpreter's."""
    return f"python{sys.version_info[0]}.{sys.version_info[1]}"


def _credentials_configured(env: Mapping[str, str]) -> bool:
    if any(env.get(name) for name in _CREDENTIAL_VARIABLES):
        return True
    home = Path(env.get("HOME") or Path.home())
    files = (env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials",
             env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    return any(Path(f).is_file() for f in files)


def lambda_environment(
    function: Function,
    *,
    region: str = DEFAULT_REGION,
    log_stream_name: str,
    base: Optional[Mapping[str, str]] = None,
    env_vars: Optional[EnvVarsFile] = None,
    credentials: Optional[tuple[str, str]] = None,
) -> dict[str, str]:
    """The environment a worker process of ``function`` starts with.

    ``base`` defaults to this process's environment; ``env_vars`` overrides
    the function's declared variables as ``sam local`` does; ``credentials``
    (key id, secret) replace whatever credentials there were.
    """
    env = dict(os.environ if base is None else base)
    env.update({
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime_version()}",
        "LAMBDA_TASK_ROOT": str(function.code_dir.resolve()),
        "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).resolve().parent),
        "_HANDLER": function.handler,
        "TZ": ":UTC",
    })
    own = env_vars.variables_for(function) if env_vars is not None else dict(function.environment)
    env.update(own)
    if credentials is not None:
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(name, None)
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = credentials
    elif not _credentials_configured(env):
        env.update(PLACEHOLDER_CREDENTIALS)
    return env
