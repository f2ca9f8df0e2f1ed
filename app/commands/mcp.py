"""`tablepilot mcp`: serve tablepilot's tools to any MCP client (Claude Desktop, VS Code, Cursor).

    tablepilot mcp --root ~/reports                       # stdio, for desktop clients
    tablepilot mcp --root ~/reports --http --port 8765    # http://127.0.0.1:8765/mcp

Only files inside the --root folders (default: the current folder) can be opened or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from app.cli import with_examples
    from app.commands.ask import add_model_options

    parser = subparsers.add_parser(
        "mcp", help="serve tablepilot's tools to MCP clients (stdio, or HTTP with --http)",
        description="An MCP server: open_workbook, query, run_python, edit, versions, undo, "
        "redo, diff, save_as and ask, plus each table's schema and packed view as resources. "
        "Files are confined to the --root folders; originals are never written.",
        **with_examples("tablepilot mcp --root ~/books",
                        "tablepilot mcp --root ~/books --http --port 8765",
                        "tablepilot mcp --root ~/books --state-dir ~/.cache/tablepilot-mcp"))
    parser.add_argument(
        "--root", action="append", default=[], metavar="DIR",
        help="a folder whose files clients may open and save to (repeatable; default: the "
        "current folder). Symlinks are resolved; nothing outside is reachable.")
    parser.add_argument("--http", action="store_true",
                        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind with --http (default 127.0.0.1; anything else "
                        "lets other machines use your files: there is no login)")
    parser.add_argument("--port", type=int, default=8765, help="port for --http (default 8765)")
    parser.add_argument("--state-dir", default=None, metavar="DIR",
                        help="where versions are kept (default: a new private temporary "
                        "folder); servers sharing one share every workbook's history")
    add_model_options(parser)
    parser.set_defaults(func=run)


def model_configured(args: argparse.Namespace) -> bool:
    """Whether `ask` has a model: a --model spec string (local:, openai:, scripted:),
    --base-url, --local, or TABLEPILOT_BASE_URL (never the local model implicitly: it would
    download and start llama.cpp behind the client's back)."""
    from agent.models import openai_compat
    from agent.models.spec import spec_prefix

    named = bool(args.model and spec_prefix(args.model))
    return bool(named or args.base_url or args.local or openai_compat.configured())


def run(args: argparse.Namespace) -> int:
    from app.commands.ask import agent_from_args

    try:
        from app.mcp_server import Config, serve
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("mcp"):
            raise
        print("error: the MCP SDK is not installed: pip install 'tablepilot[mcp]'",
              file=sys.stderr)
        return 2

    roots = [Path(r) for r in args.root] or [Path.cwd()]
    for root in roots:
        if not root.expanduser().is_dir():
            print(f"error: --root {root}: not a folder", file=sys.stderr)
            return 2
    agent = agent_from_args(args) if model_configured(args) else None
    state = Path(args.state_dir).expanduser() if args.state_dir else None
    if args.http and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach it can read and write the "
              "files under the roots (no login). Prefer 127.0.0.1 behind a tunnel.",
              file=sys.stderr)
    where = f"http://{args.host}:{args.port}/mcp" if args.http else "stdio"
    print(f"tablepilot mcp on {where}; roots: {', '.join(str(r.resolve()) for r in roots)}"
          + ("" if agent else "; ask: no model configured"), file=sys.stderr)
    serve(Config(roots=roots, state_dir=state, agent=agent, python=not args.no_python),
          http=args.http, host=args.host, port=args.port)
    return 0
