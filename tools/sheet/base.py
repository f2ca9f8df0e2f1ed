"""The base of every action: a pydantic model with an ``action`` tag and an ``apply`` method.

``apply`` checks every argument against the workbook first and raises ``ToolFailure`` (through
``context.fail``) before it changes anything; the tool applies a batch to an in-memory copy, so
a failure anywhere leaves the saved versions untouched.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from tools.sheet.context import EditContext


def _takes_list(annotation: Any) -> bool:
    """A field typed as a list (alone, or before None): one value may stand for a list of one."""
    if typing.get_origin(annotation) is list:
        return True
    args = typing.get_args(annotation)
    return bool(args) and typing.get_origin(args[0]) is list and len(args) <= 2 and (
        len(args) == 1 or args[1] is type(None))


class Act(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheet: str | None = None  # default: the active sheet

    @model_validator(mode="before")
    @classmethod
    def _one_for_a_list(cls, data: Any) -> Any:
        """``"by": "Date"`` is read as ``"by": ["Date"]`` (small models drop the brackets)."""
        if not isinstance(data, dict):
            return data
        fixed = dict(data)
        for name, info in cls.model_fields.items():
            value = fixed.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool) and \
                    _takes_list(info.annotation):
                fixed[name] = [value]
        return fixed

    def apply(self, ctx: EditContext) -> None:
        """Check the arguments, then change ``ctx.wb``."""
        raise TypeError(f"{type(self).__name__} has no apply")  # every action overrides this
