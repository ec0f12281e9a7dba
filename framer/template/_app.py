"""A template loaded onto a gateway, and loaded again on a change.

``TemplateGateway.open`` reads the template (CloudFormation, SAM or
serverless.yml), provisions it onto a new in-memory ``Gateway`` and wraps
that in the control plane's ``LocalGateway`` (every API on one port, ids and
ARNs as ``apigatewayv2`` makes them, ``/v2/apis`` included). ``reload``
provisions the changed template onto a scratch gateway first; only when that
succeeds is it applied to the live one, as a new deployment of each stage
(open connections stay on their stage), so a broken edit changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Optional

from framer.controlplane import FunctionRegistry, LocalGateway
from framer.router import Gateway

from ._documents import load_document
from ._errors import TemplateError
from ._model import App
from ._parameters import Pseudo
from ._resources import Prior
from ._serverless import compile_serverless, is_serverless
from ._stack import run_template

__all__ = ["TEMPLATE_NAMES", "LoadOptions", "TemplateGateway", "discover"]

#: Looked for in this order when no template is given (as ``sam local`` does,
#: then the Serverless Framework's names).
TEMPLATE_NAMES = ("template.yaml", "template.yml", "serverless.yml", "serverless.yaml")


def discover(directory: Path) -> Optional[Path]:
    """The first of ``TEMPLATE_NAMES`` in ``directory``, if any."""
    for name in TEMPLATE_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How to read a template: parameter values, stage, account and region."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    stage: Optional[str] = None
    """serverless.yml's stage (``--stage``); a CloudFormation template has its own."""
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: Optional[str] = None
    """Default: the template directory's name."""


def _stack_name(path: Path, given: Optional[str]) -> str:
    if given:
        return given
    # cdk.out/NAME.template.json is stack NAME's; else the template's directory names it.
    base = path.name[:-len(".template.json")] if path.name.endswith(".template.json") \
        else path.resolve().parent.name
    name = re.sub(r"[^A-Za-z0-9-]", "-", base).strip("-")
    return name if name and name[0].isalpha() else f"stack-{name or 'framer'}"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _load(path: Path, options: LoadOptions, gateway_for: Callable[[Pseudo], Gateway],
          registry: FunctionRegistry, prior: Optional[Prior]) -> tuple[App, Prior, Gateway]:
    document = load_document(path)
    stack_name = _stack_name(path, options.stack_name)
    if is_serverless(document):
        compiled = compile_serverless(document, file=path, option_stage=options.stage,
                                      account_id=options.account_id)
        pseudo = Pseudo(compiled.region, options.account_id,
                        f"{compiled.service}-{compiled.stage}")
        gateway = gateway_for(pseudo)
        app, new_prior = run_template(
            compiled.template, file=path, gateway=gateway, registry=registry, overrides={},
            pseudo=pseudo, prior=prior, origins=compiled.origins, fmt="serverless",
            watched=(path, *compiled.files))
        return app, new_prior, gateway
    if options.stage is not None:
        raise TemplateError("--stage selects a serverless.yml stage; a CloudFormation "
                            "template's stages are its AWS::ApiGatewayV2::Stage resources",
                            file=path)
    pseudo = Pseudo(options.region, options.account_id, stack_name)
    gateway = gateway_for(pseudo)
    app, new_prior = run_template(document, file=path, gateway=gateway, registry=registry,
                                  overrides=options.overrides, pseudo=pseudo, prior=prior)
    return app, new_prior, gateway


def _new_gateway(pseudo: Pseudo) -> Gateway:
    return Gateway(region=pseudo.region, account_id=pseudo.account_id, clock=_utc_now)


class TemplateGateway:
    """A template's APIs on a ``LocalGateway``; ``app`` is what to serve."""

    def __init__(self, path: Path, options: LoadOptions, local: LocalGateway, model: App,
                 prior: Prior) -> None:
        self.path = path
        self.options = options
        self.app = local
        self.model = model
        self._prior = prior

    @classmethod
    def open(cls, path: Path, options: LoadOptions = LoadOptions()) -> TemplateGateway:
        """Load ``path``; ``TemplateError`` if it cannot be run (nothing is kept)."""
        registry = FunctionRegistry()
        model, prior, gateway = _load(path, options, _new_gateway, registry, None)
        return cls(path, options, LocalGateway(gateway, registry), model, prior)

    def reload(self) -> App:
        """Apply the template as it is now; ``TemplateError`` (and the old
        template still serving) if it cannot be run."""
        _load(self.path, self.options, _new_gateway, FunctionRegistry(), None)
        live = self.app.gateway
        self.model, self._prior, _ = _load(self.path, self.options, lambda _pseudo: live,
                                           self.app.functions, self._prior)
        return self.model
