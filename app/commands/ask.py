"""`tablepilot ask FILE "question"`: answer one question, show the steps and the model."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent.effort import EFFORTS, LOCAL_EFFORT, REMOTE_EFFORT
from app.cli import make_console, print_json, with_examples
from app.commands.progress import live_progress


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model / --base-url / --api-key / --local [NAME] / --tool-mode and the run limits."""
    g = parser.add_argument_group("model")
    g.add_argument("--model", default=None, metavar="SPEC",
                   help="local:[NAME], openai:NAME@URL[,URL...], scripted:PATH (a JSON/YAML "
                        "list of replies), or a bare model name at the endpoint "
                        "(default: TABLEPILOT_MODEL, or the server's)")
    g.add_argument("--base-url", default=None,
                   help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 "
                        "(default: TABLEPILOT_BASE_URL; without one, the local CPU model)")
    g.add_argument("--api-key", default=None,
                   help="the endpoint's API key (default: TABLEPILOT_API_KEY)")
    g.add_argument("--local", nargs="?", const=True, default=None, metavar="NAME",
                   help="use the local CPU model (llama.cpp), optionally naming it "
                        "(qwen2.5-coder-1.5b, qwen2.5-coder-0.5b)")
    g.add_argument("--tool-mode", choices=["native", "text"], default=None,
                   help="native tool calls, or the text protocol (default: by backend)")
    g.add_argument("--strategy", choices=["agent", "direct", "sql_once"], default="agent",
                   help="agent: the tool loop; direct: table and question in one call, no "
                        "tools; sql_once: one text-to-SQL query, run (default: agent)")
    g.add_argument("--max-steps", type=positive_int, default=8,
                   help="most tool calls per question (default: 8)")
    g.add_argument("--effort", choices=list(EFFORTS), default=None,
                   help="fast: one query per step; balanced: 5 drafts, voted on, only when a "
                        "query errs or returns nothing; thorough: 5 drafts of every query step "
                        f"(default: {LOCAL_EFFORT} with the local model, else {REMOTE_EFFORT}; "
                        "measured in docs/speed.md)")
    g.add_argument("--samples", type=positive_int, default=None, metavar="N",
                   help="drafts of each query step, run and voted on by result "
                        "(default: the effort's)")
    g.add_argument("--timeout", type=float, default=300.0,
                   help="time limit per question, in seconds (default: 300)")
    g.add_argument("--no-python", action="store_true", help="do not offer the python tool")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """--rules LIST / --without RULE: which of the agent's rules run (see `tablepilot rules`)."""
    g = parser.add_argument_group("rules")
    g.add_argument("--rules", action="append", default=None, metavar="LIST",
                   help="run only these rules: ids or family names, comma-separated or "
                        "repeated ('all', 'none'; default: the rules that are on by default)")
    g.add_argument("--without", action="append", default=None, metavar="RULE",
                   help="leave out a rule or a family (repeatable, or comma-separated)")


def _names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def rules_from_args(args: argparse.Namespace) -> Any:
    """The RuleSet that --rules/--without choose (UnknownRuleError names a bad name)."""
    from agent.rules import select

    return select(_names(getattr(args, "rules", None)),
                  without=_names(getattr(args, "without", None)))


def model_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """TableAgent's model arguments: a spec string as it is (checked here, so a bad one fails
    before any file is read); a bare --model is a model name (at --base-url or
    TABLEPILOT_BASE_URL, or of the local model with --local)."""
    from agent.models.spec import looks_misspelt, parse_spec, spec_prefix

    spec = args.model if args.model and (spec_prefix(args.model) or looks_misspelt(args.model)) \
        else None
    if spec:
        parse_spec(spec)
    return dict(model=spec, model_name=None if spec else args.model, base_url=args.base_url,
                api_key=args.api_key, local=args.local, tool_mode=args.tool_mode)


def question_problem(question: Any) -> str | None:
    """Why ``question`` cannot be asked (empty, only whitespace, not text), or None."""
    if not isinstance(question, str):
        return f"the question must be text, not {type(question).__name__}"
    if not question:
        return "the question is empty"
    if not question.strip():
        return "the question is blank (only whitespace)"
    return None


def check_question(question: Any) -> str:
    """The question, or a UsageError (exit 2) naming what is wrong with it."""
    from agent.errors import UsageError

    problem = question_problem(question)
    if problem:
        raise UsageError(f"{problem}: say what to ask, e.g. tablepilot ask FILE "
                         "\"How many rows are there?\"")
    return str(question)


def agent_from_args(args: argparse.Namespace) -> Any:
    from agent import TableAgent

    return TableAgent(**model_from_args(args), strategy=args.strategy,
                      max_steps=args.max_steps, timeout_s=args.timeout,
                      python=not args.no_python, samples=args.samples, effort=args.effort,
                      rules=rules_from_args(args))


def print_step(console: Any, step: Any) -> None:
    from rich.markup import escape

    arg = next(iter(step.input.values()), "") if step.input else ""
    shown = arg if isinstance(arg, str) else json.dumps(arg, ensure_ascii=False)
    status = "[red]error[/red]" if step.error else "[green]ok[/green]"
    rules = f" rules: {', '.join(step.rules)}" if step.rules else ""
    model = f"model {step.model_s:.1f} s, " if step.model_s else ""
    console.print(f"[bold]{step.index}. {step.tool}[/bold] {status} "
                  f"[dim]{model}tool {step.duration_s * 1000:.0f} ms{escape(rules)}[/dim]")
    console.print(f"  [cyan]{escape(shown[:800])}[/cyan]")
    lines = step.shown.splitlines()
    for line in lines[:12]:
        console.print(f"  [dim]{escape(line[:160])}[/dim]")
    if len(lines) > 12:
        console.print(f"  [dim]... {len(lines) - 12} more lines[/dim]")


def print_answer(console: Any, answer: Any) -> None:
    from rich.markup import escape

    colour = "green" if answer.status == "ok" else "yellow"
    console.print(f"\n[bold {colour}]{escape(answer.text)}[/bold {colour}]")
    meta = [f"model: {answer.model}", f"{answer.duration_s:.1f}s",
            f"tokens {answer.tokens_in}/{answer.tokens_out}"]
    if answer.status != "ok":
        meta.insert(0, f"status: {answer.status} ({answer.stop_reason})")
    if answer.cells:
        more = f" +{len(answer.cells) - 8}" if len(answer.cells) > 8 else ""
        meta.append("cells: " + ", ".join(answer.cells[:8]) + more)
    if answer.rules_fired:
        meta.append("rules: " + ", ".join(answer.rules_fired))
    console.print(f"[dim]{escape(' | '.join(meta))}[/dim]")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ask", help="answer one question about a workbook",
        description="Answer one question about a workbook or CSV file, showing each step.",
        **with_examples(
            'tablepilot ask app/examples/sales_2025.xlsx "Which region sold the most in Q4?" '
            "--model scripted:app/examples/scripted_demo.json",
            'tablepilot ask sales.csv "What was the total revenue in 2025?" --json',
            'tablepilot ask book.xlsx "How many orders are late?" '
            "--model openai:qwen@http://localhost:8000/v1 -q"))
    p.add_argument("file", help="workbook or table file (.xlsx .xls .ods .csv .parquet ...)")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the answer")
    add_model_options(p)
    add_rule_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from table_io import open_workbook

    question = check_question(args.question)
    console = make_console()
    agent = agent_from_args(args)  # a bad --model or --rules fails before the file is read
    workbook = open_workbook(args.file)
    if args.quiet or args.json:
        answer = agent.ask(workbook, question)
    else:
        with live_progress(print_step, enabled=True, fallback=console) as on_step:
            answer = agent.ask(workbook, question, on_step=on_step)
    if args.json:
        print_json(answer.to_dict())
    elif args.quiet:
        print(answer.text.splitlines()[0] if answer.text else "")
    else:
        print_answer(console, answer)
    return 0 if answer.status == "ok" else 1
