"""`tablepilot tools`: the tools' function schemas, for an agent loop of your own.

    tablepilot tools                 # a readable list: name, what it does, its arguments
    tablepilot tools --json          # OpenAI-style function schemas (a JSON list)
    tablepilot tools --json --full   # with the sheet tool's complete typed schema

Call them through the Python API: ``kit = agent.toolkit("book.xlsx")``, then
``kit.call(name, arguments)`` returns the observation to send back to the model.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import print_json, print_styled, with_examples


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tools",
        help="print the tools' function schemas (sql, python, sheet, inspect) for other agents",
        description="Print tablepilot's tools as OpenAI-style function schemas, for an agent "
        "loop of your own; call them with agent.toolkit(FILE).call(name, arguments).",
        **with_examples(
            "tablepilot tools                  # a readable list",
            "tablepilot tools --json           # OpenAI-style function schemas",
            "tablepilot tools --json --full --read-only"),
    )
    parser.add_argument("--json", action="store_true",
                        help="print the function schemas as JSON (type=function, name, "
                             "description, parameters)")
    parser.add_argument("--full", action="store_true",
                        help="the sheet tool's complete typed schema (every action's fields) "
                             "instead of the small one tablepilot sends to models")
    parser.add_argument("--no-python", action="store_true", help="leave out the python tool")
    parser.add_argument("--read-only", action="store_true", help="leave out the sheet tool")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.toolkits import tool_specs

    specs = tool_specs(python=not args.no_python, sheet=not args.read_only, full=args.full)
    if args.json:
        print_json(specs)
    else:
        print_styled(render(specs), [(r"^\S", "bold cyan"), (r"^  \S", "")])
    return 0


def render(specs: list[dict[str, Any]]) -> str:
    """Each tool as ``name: first line of its description`` and its arguments."""
    blocks = []
    for spec in specs:
        function = spec["function"]
        lines = [f"{function['name']}: {function['description'].splitlines()[0]}"]
        parameters = function["parameters"]
        required = set(parameters.get("required", []))
        for name, schema in parameters.get("properties", {}).items():
            kind = schema.get("type", "object")
            if kind == "array" and "items" in schema:
                kind = f"array of {schema['items'].get('type', 'object')}"
            flag = "required" if name in required else f"optional, default {schema.get('default')!r}"
            about = f": {schema['description']}" if schema.get("description") else ""
            actions = schema.get("items", {}).get("properties", {}).get("action", {}).get("enum")
            if actions:
                about += ("; " if about else ": ") + f"each action one of: {', '.join(actions)}"
            lines.append(f"  {name} ({kind}, {flag}){about}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
