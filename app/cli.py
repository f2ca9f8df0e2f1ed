"""The `tablepilot` command. Each subcommand lives in app/commands/<name>.py and exposes
``register(subparsers)``; heavy imports happen inside the command, so `--help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["inspect", "ask", "chat", "batch", "serve", "eval", "app", "tools", "mcp"]


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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `tablepilot app ...` hands every remaining option to streamlit untouched.
    if argv[:1] == ["app"]:
        from app.commands.app import launch

        return launch(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    from table_io.errors import TableIOError

    try:
        return int(args.func(args) or 0)
    except TableIOError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tablepilot inspect FILE | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
