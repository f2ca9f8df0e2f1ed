"""Tools the agent calls: sql, python, sheet, tap. Each is usable alone and as a LangChain tool."""

from tools.base import Tool, ToolError, ToolFailure, ToolResult

__all__ = ["Tool", "ToolError", "ToolFailure", "ToolResult"]
