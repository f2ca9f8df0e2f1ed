"""The ``sheet`` tool: SheetCopilot-style typed atomic actions over openpyxl, with versions and undo."""

from tools.sheet.actions import ACTION_NAMES, ACTION_TYPES, Action
from tools.sheet.tool import SheetTool, parse_actions

__all__ = ["ACTION_NAMES", "ACTION_TYPES", "Action", "SheetTool", "parse_actions"]
