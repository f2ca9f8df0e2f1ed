"""The `tablepilot` command. Each subcommand lives in app/commands/<name>.py and exposes
``register(subparsers)``; heavy imports happen inside the command, so `--help` stays fast.

Errors meant for the user are printed here, in one place, as one line without a traceback:
the agent's (``agent.errors.AgentError``: exit 2 for a ``UsageError``, else 1) and table_io's
(``TableIOError``, a file that cannot be read: exit 2)."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["inspect", "ask", "chat", "batch", "serve", "eval", "app", "tools", "mcp", "rules"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tablepilot",
        description="Ask questions about tables and edit spreadsheets with an LLM agent.",
    )
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
        sys.stderr.close()
        return 0
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return code


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
