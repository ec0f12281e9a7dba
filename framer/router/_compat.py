"""The ``record`` decorator: frozen, slotted, keyword-only dataclasses.

``slots=`` and ``kw_only=`` arrived in Python 3.10 while the project still
declares 3.9 support, so on 3.9 records degrade to plain frozen dataclasses
(same behaviour, no slots, positional arguments tolerated).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, kw_only_default=True)
    def record(cls: type[_T]) -> type[_T]:
        """Make ``cls`` a frozen keyword-only dataclass."""

else:
    _OPTIONS: dict[str, Any] = {"frozen": True}
    if sys.version_info >= (3, 10):
        _OPTIONS.update(slots=True, kw_only=True)

    def record(cls):
        """Make ``cls`` a frozen (slotted, keyword-only where possible) dataclass."""
        return dataclass(**_OPTIONS)(cls)
