"""Read and write workbooks, find the tables in a sheet, type the cells, the DuckDB catalog."""

from table_io.catalog import connect
from table_io.errors import (
    CorruptFileError,
    EmptyWorkbookError,
    LimitExceededError,
    PasswordProtectedError,
    SourceNotFoundError,
    TableIOError,
    TableNotFoundError,
    UnsafeFileError,
    UnsupportedFormatError,
    VersionError,
)
from table_io.limits import Limits
from table_io.model import SetAside, Sheet, Table, Workbook
from table_io.open import open_workbook
from table_io.overrides import with_override

__all__ = [
    "CorruptFileError",
    "EmptyWorkbookError",
    "LimitExceededError",
    "Limits",
    "PasswordProtectedError",
    "SetAside",
    "Sheet",
    "SourceNotFoundError",
    "Table",
    "TableIOError",
    "TableNotFoundError",
    "UnsafeFileError",
    "UnsupportedFormatError",
    "VersionError",
    "Workbook",
    "connect",
    "open_workbook",
    "with_override",
]
