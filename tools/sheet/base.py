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


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a Literal field (alone or with None), else ()."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return ()


_ON = ("on", "yes", "true")
_OFF = ("off", "no", "false")
_DEFAULT_ON = ("auto", "linear")  # what a choice switched on with true means: Excel's default


class Act(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheet: str | None = None  # default: the active sheet

    @model_validator(mode="before")
    @classmethod
    def _plain_readings(cls, data: Any) -> Any:
        """What small models write for a field, read the one way it can mean: ``"by": "Date"``
        as ``["Date"]``; a choice in another case (``"None"`` for ``"none"``); false for a
        choice that has ``"none"``, true for one that has ``"auto"``; ``"null"`` or ``""`` for an
        optional field left out; true or "on" for a trendline as a linear one, false or "off" for
        an optional choice as none. Anything else still fails validation with the fix named."""
        if not isinstance(data, dict):
            return data
        fixed = dict(data)
        for name, info in cls.model_fields.items():
            if name not in fixed:
                continue
            value = fixed[name]
            if isinstance(value, str | int | float) and not isinstance(value, bool) and \
                    _takes_list(info.annotation):
                fixed[name] = [value]
                continue
            choices = _choices(info.annotation)
            if not choices:
                continue
            optional = not info.is_required() and info.default is None
            if isinstance(value, str) and value not in choices:
                folded = {str(c).lower(): c for c in choices}
                text = value.strip().lower()
                if text in folded:
                    fixed[name] = folded[text]
                elif optional and text in ("", "null", "default"):
                    fixed[name] = None
                elif text in _ON or text in _OFF:
                    value = text in _ON  # "on"/"off" as a flag, read below
            if value is False and "none" in choices:
                fixed[name] = "none"
            elif value is False and optional:
                fixed[name] = None  # "trendline": false: no trendline
            elif value is True and (default := next((c for c in _DEFAULT_ON if c in choices), None)):
                fixed[name] = default  # "marker": true, "trendline": true: the usual kind
        return fixed

    def apply(self, ctx: EditContext) -> None:
        """Check the arguments, then change ``ctx.wb``."""
        raise TypeError(f"{type(self).__name__} has no apply")  # every action overrides this
