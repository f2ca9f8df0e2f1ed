"""One exception hierarchy for everything table_io refuses to open or do.

Every message names the file and the problem, so the CLI and the app can show it as is.
"""

from __future__ import annotations


class TableIOError(Exception):
    """Base class: the user's input cannot be used. The message is meant for a person."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class SourceNotFoundError(TableIOError, FileNotFoundError):
    """The path does not exist."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        TableIOError.__init__(self, message, source=source)


class UnsupportedFormatError(TableIOError):
    """Not a spreadsheet or table file tablepilot can read."""


class CorruptFileError(TableIOError):
    """The file claims a format but is damaged or truncated."""


class PasswordProtectedError(TableIOError):
    """The workbook is encrypted."""


class EmptyWorkbookError(TableIOError):
    """No sheet, or no table, holds any data."""


class UnsafeFileError(TableIOError):
    """Zip bomb, XML bomb or similar: refused before parsing."""


class LimitExceededError(TableIOError):
    """The file is over the configured size, cell or row limits."""


class TableNotFoundError(TableIOError, KeyError):
    """A table or sheet name that the workbook does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class VersionError(TableIOError):
    """Undo/redo or restore asked for a version that does not exist."""


class ReadTimeoutError(LimitExceededError):
    """Reading the file took longer than the configured time limit."""
