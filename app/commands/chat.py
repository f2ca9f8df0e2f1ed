"""`tablepilot chat FILE`: a terminal session; /undo, /redo, /save PATH, /apply, /discard, /quit."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import make_console, with_examples
from app.commands.ask import (
    add_model_options,
    add_rule_options,
    agent_from_args,
    print_answer,
    print_step,
)
from app.commands.progress import live_progress

HELP = ("commands: /undo  /redo  /save PATH  /apply  /discard  /history  /quit  "
        "(anything else is a question or an edit request)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "chat", help="chat with a workbook in the terminal (edits, undo)",
        description="A terminal chat over a workbook. " + HELP,
        **with_examples(
            "tablepilot chat app/examples/sales_2025.xlsx "
            "--model scripted:app/examples/scripted_demo.json",
            "tablepilot chat sales.xlsx --workdir sales-versions",
            "tablepilot chat book.xlsx --model openai:qwen@http://localhost:8000/v1"))
    p.add_argument("file", help="workbook or table file to chat about (.xlsx .csv ...)")
    p.add_argument("--apply-at-once", action="store_true",
                   help="apply each edit as soon as it is made, without /apply (as the app "
                        "does, edits are held for review by default)")
    p.add_argument("--review", action="store_true",
                   help="hold edits for /apply or /discard (the default; kept for scripts)")
    p.add_argument("--workdir", default=None, help="folder for the versions (default: temporary)")
    add_model_options(p)
    add_rule_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, input_fn: Any = input) -> int:
    from table_io.errors import TableIOError

    console = make_console()
    agent = agent_from_args(args)
    session = agent.chat(args.file, auto_apply=args.apply_at_once and not args.review,
                         workdir=args.workdir)
    console.print(f"[bold]tablepilot[/bold] chat over {args.file} "
                  f"(tables: {', '.join(t.name for t in session.workbook.tables)})")
    console.print(f"[dim]{HELP}[/dim]")
    while True:
        try:
            line = input_fn("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not line:
            continue
        if line.startswith("/"):
            command, _, rest = line.partition(" ")
            try:
                if command in ("/quit", "/exit", "/q"):
                    return 0
                if command == "/undo":
                    console.print(f"now at version {session.undo()}")
                elif command == "/redo":
                    console.print(f"now at version {session.redo()}")
                elif command == "/save":
                    if not rest.strip():
                        console.print("usage: /save PATH")
                        continue
                    console.print(f"saved {session.save(rest.strip())}")
                elif command == "/apply":
                    console.print(f"applied: version {session.apply_pending()}")
                elif command == "/discard":
                    session.discard_pending()
                    console.print("discarded")
                elif command == "/history":
                    for entry in session.versions.history():
                        console.print(str(entry))
                else:
                    console.print(HELP)
            except (TableIOError, ValueError) as exc:
                console.print(f"[red]{exc}[/red]")
            continue
        # A model that cannot start (an AgentError) ends the chat: app.cli prints it.
        with live_progress(print_step, enabled=True, fallback=console) as on_step:
            answer = session.send(line, on_step=on_step)
        print_answer(console, answer)
        if session.pending is not None:
            print_pending(console, session.pending, said=answer.edits)
        elif answer.version is not None:
            console.print(f"[dim]workbook version {answer.version}: {session.workbook_path}[/dim]")


def print_pending(console: Any, pending: Any, *, said: list[str] | None = None) -> None:
    """A proposed edit: its lines in words (unless the answer just said them), the cells it
    changes, and apart from them the formula values tablepilot recomputed."""
    from rich.markup import escape

    from table_io.diff import split_recomputed

    edits, recomputed = split_recomputed(list(pending.changes))
    console.print(f"[yellow]pending edit: {len(edits)} cell change(s)[/yellow]")
    if pending.summaries and pending.summaries != (said or []):
        for line in pending.summaries:
            console.print(f"  - {escape(line)}")
    described = pending.describe()
    if described:
        console.print(escape(described))
    if recomputed:
        console.print(f"[dim]{len(recomputed)} formula value(s) recomputed (the file had no saved "
                      "result for them): not changed by this edit[/dim]")
    console.print("[dim]/apply to apply it, /discard to drop it[/dim]")
