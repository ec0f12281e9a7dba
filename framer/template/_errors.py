"""``TemplateError``: a template framer cannot run, named by file, place and property."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

__all__ = ["TemplateError"]


class TemplateError(ValueError):
    """A template (or a file it includes) that cannot be run.

    ``str()`` is one line: ``FILE[:LINE]: WHERE: PROBLEM``, where ``WHERE`` is
    the dotted path of the offending entry (``Resources.SendRoute.Properties.Target``,
    ``functions.connect.handler``).
    """

    def __init__(self, problem: str, *, file: Union[str, Path, None] = None,
                 where: Optional[str] = None, line: Optional[int] = None) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.where = where
        self.line = line
        super().__init__(problem)

    def located(self, *, file: Union[str, Path, None] = None, where: Optional[str] = None,
                line: Optional[int] = None) -> TemplateError:
        """This error with the place filled in where it was not known yet."""
        return TemplateError(
            self.problem, file=self.file or (str(file) if file is not None else None),
            where=self.where or where, line=self.line or line)

    def __str__(self) -> str:
        head = self.file or "template"
        if self.line is not None:
            head += f":{self.line}"
        if self.where:
            head += f": {self.where}"
        return f"{head}: {self.problem}"
