"""`tablepilot app [STREAMLIT OPTIONS]`: start the Streamlit page.

Every option after `app` goes to `streamlit run` untouched, e.g.
`tablepilot app --server.port 8765 --server.address 127.0.0.1 --server.headless true`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def streamlit_args(argv: list[str]) -> list[str]:
    """The `streamlit` command line that `tablepilot app ARGV` runs."""
    return ["run", str(PAGE), *argv]


def launch(argv: list[str]) -> int:
    """Run `streamlit run <page> ARGV` in this process (a kill of this process stops the server).

    Usage statistics are off unless asked for (an env default; `--browser.gatherUsageStats true`
    or STREAMLIT_BROWSER_GATHER_USAGE_STATS still win), and the toolbar shows no developer
    options or Deploy button (`--client.toolbarMode developer` brings them back).
    """
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    os.environ.setdefault("STREAMLIT_CLIENT_TOOLBAR_MODE", "viewer")
    try:
        from streamlit.web import cli as streamlit_cli
    except ModuleNotFoundError:
        import sys

        print("error: the app needs streamlit: pip install 'tablepilot[app]'", file=sys.stderr)
        return 2
    try:
        streamlit_cli.main(args=streamlit_args(argv), prog_name="streamlit")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "app",
        help="start the Streamlit app (options go to `streamlit run`)",
        description="Start the chat-with-your-workbook page. Every option after `app` is passed "
        "to `streamlit run`, e.g. --server.port 8765 --server.address 127.0.0.1.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return launch([])
