"""The `tablepilot` command. Each subcommand lives in app/commands/<name>.py and exposes
``register(subparsers)``; heavy imports happen inside the command, so `--help` stays fast.

Errors meant for the user are printed here, in one place, as one line without a traceback:
the agent's (``agent.errors.AgentError``: exit 2 for a ``UsageError``, else 1) and table_io's
(``TableIOError``, a file that cannot be read: exit 2).

The conventions every command keeps live here too, so they cannot drift apart: ``--version``,
examples at the end of each ``--help`` (``with_examples``), one way to make a rich console
(colours on a terminal, none when piped or under NO_COLOR: ``make_console``) and one JSON style
(``print_json``: UTF-8 as is, indent 2)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COMMANDS = ["inspect", "ask", "chat", "batch", "serve", "eval", "app", "tools", "mcp", "rules"]
JSON_INDENT = 2


def package_version() -> str:
    """The installed package's version, or pyproject.toml's when running from a bare checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tablepilot")
    except PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def with_examples(*examples: str) -> dict[str, Any]:
    """``add_parser`` keywords that end a command's --help with these example lines, kept as
    written (RawDescriptionHelpFormatter leaves the epilog's line breaks alone)."""
    return {"epilog": "examples:\n" + "\n".join(f"  {line}" for line in examples),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def make_console(*, stderr: bool = False) -> Any:
    """The rich Console every command prints through: colours only on a terminal (rich's own
    check) and no styling at all when NO_COLOR is set (https://no-color.org); long lines are
    left to the terminal to wrap, so piped output keeps one line per line."""
    from rich.console import Console

    class PipedConsole(Console):
        def on_broken_pipe(self) -> None:  # rich would exit 1; `main` ends quietly with 0
            self.quiet = True
            raise BrokenPipeError

    no_color = bool(os.environ.get("NO_COLOR"))
    return PipedConsole(stderr=stderr, highlight=False, soft_wrap=True, no_color=no_color,
                        color_system=None if no_color else "auto")


def print_styled(text: str, styles: Sequence[tuple[str, str]]) -> None:
    """Print plain ``text`` with each line styled by the first ``(regex, style)`` that matches
    it (the text itself is never read as markup)."""
    from rich.text import Text

    console = make_console()
    compiled = [(re.compile(pattern), style) for pattern, style in styles]
    for line in text.splitlines() or [""]:
        style = next((s for pattern, s in compiled if pattern.search(line)), "")
        console.print(Text(line, style=style))


def print_json(data: Any) -> None:
    """Every command's --json output: UTF-8 with accents as they are (whatever the locale
    says), indent 2, values that JSON lacks (dates, paths) as their text."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    print(json.dumps(data, ensure_ascii=False, indent=JSON_INDENT, default=str))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tablepilot",
        description="Ask questions about tables and edit spreadsheets with an LLM agent.",
        **with_examples(
            "tablepilot inspect app/examples/sales_2025.xlsx",
            'tablepilot ask sales.xlsx "Which region sold the most in March?"',
            "tablepilot chat sales.xlsx --model openai:qwen@http://localhost:8000/v1",
            "tablepilot COMMAND --help        # each command's options and examples"),
    )
    parser.add_argument("--version", action="version",
                        version=f"tablepilot {package_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def one_line(exc: BaseException) -> str:
    """An error's message on one line (a multi-line message would read as several errors)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def exit_code(exc: BaseException) -> int | None:
    """The exit code for an error meant for the user (None: a bug, shown with its traceback).
    The error classes are imported here, not at start, so `tablepilot --help` stays fast."""
    from agent.errors import AgentError, UsageError
    from table_io.errors import TableIOError

    if isinstance(exc, UsageError | TableIOError):
        return 2
    return 1 if isinstance(exc, AgentError) else None


def main(argv: list[str] | None = None) -> int:
    try:
        return run_command(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tablepilot inspect FILE | head`
        quiet_stdout()
        return 0
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return code


def quiet_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone, so the flush at exit cannot fail
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (a test's capture)
        pass


def run_command(argv: list[str]) -> int:
    # `tablepilot app ...` hands every remaining option to streamlit untouched.
    if argv[:1] == ["app"]:
        from app.commands.app import launch

        return launch(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
