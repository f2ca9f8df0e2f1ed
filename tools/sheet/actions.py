"""The action vocabulary: one pydantic model per action, discriminated by the ``action`` field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tools.sheet.cells import (
    Clear,
    Convert,
    Copy,
    Dedupe,
    Fill,
    FindReplace,
    Formula,
    Link,
    Merge,
    NameRange,
    Split,
    Unmerge,
    Write,
)
from tools.sheet.charts import Chart, EditChart
from tools.sheet.data import Filter, Sort, Summary
from tools.sheet.structure import (
    AddSheet,
    CopySheet,
    DeleteCols,
    DeleteRows,
    DeleteSheet,
    Freeze,
    Hide,
    InsertCols,
    InsertRows,
    MoveSheet,
    RenameSheet,
    Size,
)
from tools.sheet.styling import CondFormat, Format, Validate

ACTION_TYPES = (
    Write, Formula, Fill, Copy, Clear, FindReplace, Convert, Link, Merge, Unmerge, NameRange, Dedupe, Split,
    InsertRows, DeleteRows, InsertCols, DeleteCols, AddSheet, RenameSheet, CopySheet, DeleteSheet, MoveSheet,
    Freeze, Size, Hide, Sort, Filter, Summary, Format, CondFormat, Validate, Chart, EditChart,
)

Action = Annotated[
    Write | Formula | Fill | Copy | Clear | FindReplace | Convert | Link | Merge | Unmerge | NameRange | Dedupe
    | Split | InsertRows | DeleteRows | InsertCols | DeleteCols | AddSheet | RenameSheet | CopySheet | DeleteSheet
    | MoveSheet | Freeze | Size | Hide | Sort | Filter | Summary | Format | CondFormat | Validate | Chart | EditChart,
    Field(discriminator="action"),
]

ACTION_NAMES = [t.model_fields["action"].annotation.__args__[0] for t in ACTION_TYPES]  # type: ignore[union-attr]
