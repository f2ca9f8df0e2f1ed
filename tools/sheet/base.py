"""The base of every action: a pydantic model with an ``action`` tag and an ``apply`` method.

``apply`` checks every argument against the workbook first and raises ``ToolFailure`` (through
``context.fail``) before it changes anything; the tool applies a batch to an in-memory copy, so
a failure anywhere leaves the saved versions untouched.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tools.sheet.context import EditContext


class Act(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheet: str | None = None  # default: the active sheet

    def apply(self, ctx: EditContext) -> None:
        """Check the arguments, then change ``ctx.wb``."""
        raise TypeError(f"{type(self).__name__} has no apply")  # every action overrides this
