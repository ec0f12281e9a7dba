"""Serverless Framework variables in ``serverless.yml`` (v3 and v4).

``${self:a.b}`` (this file), ``${opt:stage}``/``${opt:region}`` (the command
line), ``${env:NAME}``, ``${sls:stage}``, ``${sls:instanceId}``,
``${aws:region}``, ``${aws:accountId}``, ``${param:NAME}`` (``params`` by
stage, then ``default``), ``${file(./x.yml):a.b}`` (a local YAML or JSON
file, or all of it), ``${strToBool(value)}``; a fallback after a comma
(``${opt:stage, 'dev'}``, ``${env:X, self:custom.y}``) is used when the
value is missing; variables nest (``${self:custom.${sls:stage}}``). A string
that is only a variable takes the value's type. ``${AWS::Region}`` and other
CloudFormation ``Fn::Sub`` names are left for CloudFormation ("Variables",
Serverless Framework documentation).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Optional

from ._documents import load_document
from ._errors import TemplateError

__all__ = ["Variables"]

_VARIABLE = re.compile(r"\$\{([^${}]*)\}")
_SOURCE = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9]*:(?!:)|file\(|strToBool\()")
_MISSING: Any = object()


class Variables:
    """Resolves every variable of a ``serverless.yml`` document."""

    def __init__(self, document: Mapping[str, Any], *, file: Path, option_stage: Optional[str],
                 region: str, account_id: str) -> None:
        self.document = document
        self.file = file
        self.option_stage = option_stage
        self._stage: Optional[str] = option_stage
        self.region = region
        self.account_id = account_id
        self.files: list[Path] = []
        self._active: list[str] = []

    @property
    def stage(self) -> str:
        """``--stage``, else ``provider.stage``, else ``dev`` (as ``${sls:stage}``)."""
        if self._stage is None:
            provider = self.document.get("provider") or {}
            given = self.resolve(provider.get("stage"), "provider.stage") \
                if isinstance(provider, dict) else None
            self._stage = str(given) if given not in (None, "") else "dev"
        return self._stage

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with its variables replaced (recursively)."""
        if isinstance(value, dict):
            return {k: self.resolve(v, f"{where}.{k}" if where else str(k))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self._string(value, where)
        return value

    def _error(self, message: str, where: str) -> TemplateError:
        return TemplateError(message, file=self.file, where=where)

    def _string(self, text: str, where: str) -> Any:
        while True:
            match = next((m for m in _VARIABLE.finditer(text) if _SOURCE.match(m.group(1))),
                         None)
            if match is None:
                return text
            value = self._expression(match.group(1), where)
            if match.start() == 0 and match.end() == len(text):
                return value
            if isinstance(value, (dict, list)):
                raise self._error(f"{match.group(0)} is a {type(value).__name__}; it cannot "
                                  "be part of a string", where)
            text = text[:match.start()] + _text(value) + text[match.end():]

    def _expression(self, body: str, where: str) -> Any:
        first, *fallbacks = _split_commas(body)
        value = self._lookup(first.strip(), where, required=not fallbacks)
        for fallback in fallbacks:
            if value is not _MISSING and value is not None:
                break
            value = self._fallback(fallback.strip(), where, last=fallback is fallbacks[-1])
        return value

    def _fallback(self, text: str, where: str, last: bool) -> Any:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        if _SOURCE.match(text):
            return self._lookup(text, where, required=last)
        try:
            return int(text)
        except ValueError:
            return {"true": True, "false": False}.get(text, text)

    def _lookup(self, text: str, where: str, *, required: bool) -> Any:
        if text.startswith("strToBool("):
            inner = text[len("strToBool("):].rstrip(")").strip()
            return str(self._fallback(inner, where, True)).lower() in ("true", "1")
        if text.startswith("file("):
            close = text.index(")") if ")" in text else len(text)
            value = self._file(text[5:close].strip(), text[close + 1:].lstrip(":"), where)
        else:
            source, _, address = text.partition(":")
            value = self._source(source, address.strip(), where)
        if value is _MISSING and required:
            raise self._error(f"variable ${{{text}}} has no value and no fallback "
                              "(give one as ${" + text + ", 'default'})", where)
        return value

    def _source(self, source: str, address: str, where: str) -> Any:
        if source == "self":
            return self._self(address, where)
        if source == "opt":
            given = self.option_stage if address == "stage" else None
            return _MISSING if given is None else given
        if source == "env":
            return os.environ.get(address, _MISSING)
        if source == "sls":
            return {"stage": self.stage, "instanceId": "framer"}.get(address, _MISSING)
        if source == "aws":
            return {"region": self.region, "accountId": self.account_id}.get(address, _MISSING)
        if source == "param":
            # v3: params.<stage> / params.default; v4: stages.<stage>.params / stages.default.params
            params = self.document.get("params") or {}
            stages = self.document.get("stages") or {}
            groups = [params.get(self.stage), (stages.get(self.stage) or {}).get("params"),
                      params.get("default"), (stages.get("default") or {}).get("params")]
            for group in [g for g in groups if isinstance(g, dict)]:
                if address in group:
                    return self.resolve(group[address], f"params.{address}")
            return _MISSING
        raise self._error(f"variable source {source!r} (${{{source}:{address}}}) cannot be "
                          "resolved locally; framer knows self, opt, env, sls, aws, param, "
                          "file and strToBool", where)

    def _self(self, address: str, where: str) -> Any:
        if address in self._active:
            loop = self._active[self._active.index(address):] + [address]
            raise self._error("circular variable: " + " -> ".join(
                f"${{self:{a}}}" for a in loop), where)
        self._active.append(address)
        try:
            node: Any = self.document
            for part in [p for p in address.split(".") if p]:
                if not isinstance(node, dict) or part not in node:
                    return _MISSING
                node = node[part]
                if isinstance(node, str) and "${" in node:
                    node = self._string(node, address)
            return self.resolve(node, address)
        finally:
            self._active.pop()

    def _file(self, name: str, address: str, where: str) -> Any:
        path = (self.file.parent / name).resolve()
        if path not in self.files:
            self.files.append(path)
        try:
            data = load_document(path)
        except TemplateError as exc:
            raise self._error(f"${{file({name})}}: {exc}", where) from None
        for part in [p for p in address.split(".") if p]:
            if not isinstance(data, dict) or part not in data:
                return _MISSING
            data = data[part]
        return self.resolve(data, where)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _split_commas(body: str) -> list[str]:
    """Split on commas outside quotes and parentheses."""
    parts, depth, quote, current = [], 0, "", ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return parts
