"""`tablepilot eval`: score prediction files, run benchmarks through the agent, compare runs.

    tablepilot eval score PRED.tsv --tagged FILE.tagged
    tablepilot eval wikitq --limit 20 --local --strategies agent,direct,sql_once --out runs/dev20
    tablepilot eval tabfact|aitqa|fetaqa --limit 50 --base-url http://127.0.0.1:8000/v1
    tablepilot eval wikitq --limit 200 --without sql --reuse-unfired runs/dev200 --out runs/x
    tablepilot eval ablate wikitq --base runs/dev200 --families call,reply,check --limit 200
    tablepilot eval compare runs/A runs/B
    tablepilot eval sheetcopilot --check RESULT.xlsx --task ID
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.effort import EFFORTS, LOCAL_EFFORT, REMOTE_EFFORT
from app.cli import with_examples

DATASETS = ("wikitq", "tabfact", "aitqa", "fetaqa", "workbooks")
STRATEGIES = ("agent", "direct", "sql_once")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate on WikiTQ, TabFact, AIT-QA, FeTaQA, messy workbooks, "
                     "SheetCopilot; score; compare",
        description="Benchmark runs with official scoring, resumable, with reports.",
        **with_examples("tablepilot eval wikitq --limit 20 --local",
                        "tablepilot eval workbooks --local --effort fast --out runs/wb-fast",
                        "tablepilot eval compare runs/wb-balanced runs/wb-fast --row"))
    sub = parser.add_subparsers(dest="eval_command", metavar="SUBCOMMAND",
                                help="a dataset to run, or score/compare/ablate/sheetcopilot")
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])

    score = sub.add_parser("score", help="score a WikiTQ prediction file (official semantics)")
    score.add_argument("predictions", type=Path, help="id<TAB>item<TAB>item... per line")
    score.add_argument("--tagged", type=Path, required=True,
                       help="the tagged dataset file (targetValue, targetCanon columns)")
    score.add_argument("-v", "--verbose", action="store_true",
                       help="print id, correct, gold and predicted values per question")
    score.set_defaults(func=run_score)

    for name in DATASETS:
        p = sub.add_parser(name, help=f"run the agent on {name} and write a report")
        _add_run_options(p, name)
        p.set_defaults(func=run_dataset, dataset=name)

    cmp = sub.add_parser("compare", help="what changed between two runs, question by question")
    cmp.add_argument("run_a", help="run folder (several over different questions: A1,A2)")
    cmp.add_argument("run_b", help="run folder (several over different questions: B1,B2)")
    cmp.add_argument("-q", "--quiet", action="store_true", help="counts only, no question lists")
    cmp.add_argument("--row", nargs="?", const="", default=None, metavar="LABEL",
                     help="print only one markdown table row: LABEL (default B) | fixed | "
                          "broken | p | accuracy A -> B")
    cmp.set_defaults(func=run_compare)

    ab = sub.add_parser("ablate", help="rerun with each rule family off, paired against a base",
                        description="For each family (or rule) NAME: the eval with --without "
                        "NAME --reuse-unfired BASE into BASE-without-NAME/ (resumable), then a "
                        "markdown table: fixed, broken, exact McNemar p against the base.")
    ab.add_argument("dataset", choices=DATASETS, help="the dataset the base run answered")
    ab.add_argument("--base", type=Path, required=True,
                    help="run folder of the eval with every default rule on")
    ab.add_argument("--families", default=None, metavar="LIST",
                    help="families or rule ids, comma-separated (default: every family)")
    ab.add_argument("--table-only", action="store_true",
                    help="run nothing: print the table from the run folders already there")
    ab.add_argument("--data", "--questions", dest="data", type=Path, default=None,
                    help="dataset file (default: the base run's, else the dataset's default)")
    ab.add_argument("--limit", type=int, default=None, help="default: the base run's")
    ab.add_argument("--offset", type=int, default=None, help="default: the base run's")
    ab.add_argument("--max-steps", type=int, default=None, help="default: the base run's")
    ab.add_argument("--samples", type=int, default=None, help="default: the base run's")
    ab.add_argument("--effort", choices=EFFORTS, default=None, help="default: the base run's")
    ab.add_argument("--concurrency", type=int, default=None,
                    help="questions in flight at once (default: as `eval DATASET`)")
    _add_model_options(ab)
    ab.add_argument("--no-progress", action="store_true", help="no progress bar")
    ab.set_defaults(func=run_ablate)

    sc = sub.add_parser("sheetcopilot", help="check a SheetCopilot result, or run the tasks")
    sc.add_argument("--check", type=Path, metavar="RESULT.xlsx", help="workbook to check")
    sc.add_argument("--task", help="task id (with --check)")
    sc.add_argument("--data-dir", type=Path, default=None,
                    help="SheetCopilot folder (default: <data>/sheetcopilot)")
    sc.add_argument("--set", dest="task_set", choices=("sample20", "stratified", "all"),
                    default=None,
                    help="tasks to run: sample20 (SheetCopilot's 20-task sample), stratified "
                         "(3 tasks of each of the six categories, none in the sample) or all "
                         "221 (default: all)")
    sc.add_argument("--task-ids", default=None, metavar="ID,ID",
                    help="only these task ids (with --set, from that set)")
    sc.add_argument("--limit", type=int, default=None, help="the first N tasks of the set only")
    _add_model_options(sc)
    sc.add_argument("--effort", choices=EFFORTS, default=None,
                    help=f"agent effort (default {LOCAL_EFFORT} with the local model, else "
                         f"{REMOTE_EFFORT})")
    sc.add_argument("--rules", default=None, metavar="LIST",
                    help="only these rules (ids or families); default: the default-on rules")
    sc.add_argument("--without", action="append", default=None, metavar="RULE",
                    help="switch off a rule or family, e.g. --without edit (the edit checks)")
    sc.add_argument("--timeout", type=float, default=None, metavar="S",
                    help="seconds per task (default: the agent's)")
    sc.add_argument("--out", type=Path, default=Path("runs/sheetcopilot"),
                    help="run folder for the edited workbooks and results (default "
                         "runs/sheetcopilot); rerun to resume")
    sc.add_argument("--max-steps", type=int, default=None, help="agent step limit")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar")
    sc.set_defaults(func=run_sheetcopilot)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, metavar="SPEC",
                   help="model spec (local:NAME, openai:NAME@URL, scripted:PATH) or a model "
                        "name at the endpoint")
    p.add_argument("--base-url", default=None,
                   help="OpenAI-compatible endpoint, e.g. a vLLM server (http://HOST:8000/v1)")
    p.add_argument("--local", nargs="?", const="", default=None, metavar="NAME",
                   help="use the managed local CPU model (default qwen2.5-coder-1.5b)")


def _add_run_options(p: argparse.ArgumentParser, dataset: str) -> None:
    if dataset == "wikitq":
        p.add_argument("--questions", type=Path, default=None,
                       help="question TSV or tagged file (default: the dev set, "
                            "pristine-seen-tables)")
    else:
        p.add_argument("--data", type=Path, default=None, help="dataset file or folder")
    p.add_argument("--limit", type=int, default=None, help="first N questions only")
    p.add_argument("--offset", type=int, default=0, metavar="N",
                   help="skip the first N questions (with --limit L: questions N+1 to N+L)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="questions in flight at once (default 4; 1 with --local, whose "
                        "CPU server answers one request at a time)")
    _add_model_options(p)
    p.add_argument("--strategy", choices=STRATEGIES, default="agent",
                   help="agent: the tool loop; direct: table and question in one call; "
                        "sql_once: one text-to-SQL query, run (default: agent)")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategies, each run into OUT/<strategy>/ "
                        "and shown side by side")
    p.add_argument("--baselines", action="store_true",
                   help="same as --strategies agent,direct,sql_once")
    p.add_argument("--max-steps", type=int, default=None, help="agent step limit")
    p.add_argument("--effort", choices=EFFORTS, default=None,
                   help="agent: fast (no drafts), balanced (drafts only when a query errs "
                        "or returns nothing), thorough (drafts every query step); default: "
                        f"{LOCAL_EFFORT} with the local model, else {REMOTE_EFFORT}")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="agent: drafts of each query step, voted on by result "
                        "(default: the effort's)")
    p.add_argument("--examples", choices=("similar", "fixed"), default="similar",
                   help="agent: the exemplars most like each question, or the same ones for "
                        "every question (a stable prompt prefix the server's cache reuses)")
    p.add_argument("--rules", default=None, metavar="LIST",
                   help="agent: only these rules (ids or families, comma-separated; 'all', "
                        "'none'); default: the default-on rules (`tablepilot rules`)")
    p.add_argument("--without", action="append", default=None, metavar="RULE",
                   help="agent: switch off a rule or family (repeatable, or comma-separated)")
    p.add_argument("--reuse-unfired", type=Path, default=None, metavar="BASE_RUN_DIR",
                   help="copy BASE_RUN_DIR's answer (same settings, default rules) for each "
                        "question where none of the rules switched off here fired, and ask "
                        "only the rest")
    p.add_argument("--out", type=Path, default=None,
                   help=f"run folder (default runs/{dataset}-<strategy>); rerun to resume")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# ---------------------------------------------------------------- score


def run_score(args: argparse.Namespace) -> int:
    from evals.wikitq_scoring import (
        check_prediction,
        read_predictions,
        read_tagged_targets,
        score_predictions,
        to_value_list,
    )

    for path in (args.predictions, args.tagged):
        if not path.exists():
            print(f"error: {path} not found", file=sys.stderr)
            return 2
    predictions = read_predictions(args.predictions)
    targets = read_tagged_targets(args.tagged)
    report = score_predictions(predictions, targets)
    if args.verbose:
        for ex_id, gold in targets.items():
            items = predictions.get(ex_id)
            pred = to_value_list(items) if items is not None else None
            ok = items is not None and check_prediction(items, gold)
            print(f"{ex_id}\t{ok}\t{gold}\t{pred if pred is not None else 'MISSING'}")
    for ex_id in report.unknown:
        print(f"warning: example id {ex_id!r} not in {args.tagged}", file=sys.stderr)
    if report.missing:
        print(f"{len(report.missing)} question(s) without a prediction count as wrong",
              file=sys.stderr)
    print(report.summary_line())
    return 0


# ---------------------------------------------------------------- dataset runs


def _make_task(args: argparse.Namespace) -> Any:
    if args.dataset == "wikitq":
        from evals.tasks import WikiTQTask

        return WikiTQTask(args.questions)
    if args.dataset == "tabfact":
        from evals.tabfact import TabFactTask

        return TabFactTask(args.data)
    if args.dataset == "aitqa":
        from evals.aitqa import AITQATask

        return AITQATask(args.data)
    if args.dataset == "workbooks":
        from evals.workbooks import WorkbooksTask

        return WorkbooksTask(args.data)
    from evals.fetaqa import FeTaQATask

    return FeTaQATask(args.data)


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """TableAgent's model arguments from --model/--base-url/--local (none: the agent's default,
    TABLEPILOT_BASE_URL when set, else the local CPU model). ``--model`` takes a model spec
    (``local:NAME``, ``openai:NAME@URL``, ``scripted:PATH``) or a model name at the endpoint."""
    from agent.models.spec import looks_misspelt, parse_spec, spec_prefix

    local: str | bool | None = None
    if args.local is not None:
        local = args.local or True
    if args.model and (spec_prefix(args.model) or looks_misspelt(args.model)):
        parse_spec(args.model)  # a bad spec fails before any question is read
        return {"model": args.model, "base_url": args.base_url, "local": local}
    return {"base_url": args.base_url, "model_name": args.model, "local": local}


def make_backend(args: argparse.Namespace) -> Any:
    """The resolved model backend (``.name`` labels reports), shared by every strategy."""
    from agent import TableAgent

    options = model_options(args)
    return TableAgent(options.pop("model", None), **options).backend


def _strategies(args: argparse.Namespace) -> list[str]:
    if args.baselines:
        return list(STRATEGIES)
    if args.strategies:
        names = [s.strip() for s in args.strategies.split(",") if s.strip()]
        bad = [s for s in names if s not in STRATEGIES]
        if bad:
            raise SystemExit(f"error: unknown strategy {bad[0]!r}; choose from "
                             f"{', '.join(STRATEGIES)}")
        return names
    return [args.strategy]


def rule_set(args: argparse.Namespace) -> Any:
    """The agent's ``RuleSet`` from --rules/--without (UnknownRuleError for a bad name)."""
    from agent.rules import select

    without = [name for spec in args.without or [] for name in spec.split(",")]
    return select(args.rules, without=without or None)


def run_dataset(args: argparse.Namespace) -> int:
    from agent import TableAgent
    from agent.errors import UnknownRuleError
    from evals.report import rules_summary
    from evals.tasks import load_slice

    task = _make_task(args)
    strategies = _strategies(args)
    several = len(strategies) > 1
    try:
        rules = rule_set(args)
    except UnknownRuleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.reuse_unfired is not None and strategies != ["agent"]:
        print("error: --reuse-unfired needs the agent strategy alone (rules run only there)",
              file=sys.stderr)
        return 2
    base = args.out or Path("runs") / (
        f"{args.dataset}-{'-'.join(strategies)}" if several else f"{args.dataset}-{strategies[0]}")
    try:
        items = load_slice(task, offset=args.offset, limit=args.limit, workdir=base)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not items:
        print("error: no questions to run" + (f" after skipping {args.offset}" if args.offset
                                               else ""), file=sys.stderr)
        return 2
    backend = make_backend(args)
    label = backend.name
    concurrency = args.concurrency or (1 if args.local is not None else 4)
    rows = []
    for strategy in strategies:
        out_dir = base / strategy if several else base
        kwargs: dict[str, Any] = {"strategy": strategy}
        if args.max_steps:
            kwargs["max_steps"] = args.max_steps
        if args.samples and strategy == "agent":
            kwargs["samples"] = args.samples
        if args.effort and strategy == "agent":
            kwargs["effort"] = args.effort
        if strategy == "agent":
            kwargs["example_choice"] = getattr(args, "examples", "similar")
        if strategy == "agent":
            kwargs["rules"] = rules
        agent = TableAgent(backend, **kwargs)
        config = {"dataset": task.name, "strategy": strategy, "model": label,
                  "questions": str(getattr(task, "questions", None) or getattr(task, "path", "")
                                   or getattr(task, "folder", "")),
                  "limit": args.limit, "offset": args.offset, "concurrency": concurrency,
                  "max_steps": agent.limits.max_steps}
        if strategy == "agent":
            config["samples"] = agent.samples
            config["effort"] = agent.effort
            config["examples"] = agent.example_choice
            config["rules_off"] = list(rules.off())
        if backend.engine:
            config["engine"] = backend.engine
        print(f"{task.name}: {len(items)} questions, strategy {strategy}, model {label} "
              f"-> {out_dir}", file=sys.stderr)
        outcome = _run_one(task, items, agent, out_dir, config, args, concurrency)
        if outcome is None:
            return 2
        rows.append((strategy, outcome))
        print(summary_line(outcome.report))
        if rules_text := rules_summary(outcome.report):
            print(rules_text)
        if outcome.interrupted:
            print(f"interrupted: rerun the same command to resume from {out_dir}",
                  file=sys.stderr)
            return 130
    if several:
        print(side_by_side([(s, o.report) for s, o in rows]))
    return 0


def _run_one(task: Any, items: list[Any], agent: Any, out_dir: Path, config: dict[str, Any],
             args: argparse.Namespace, concurrency: int) -> Any:
    """One strategy's run (a RunOutcome), or None after printing why it cannot run."""
    from evals.reuse import open_base
    from evals.runner import run_eval

    try:
        reuse = None
        if args.reuse_unfired is not None:
            reuse = open_base(args.reuse_unfired, config)
            print(f"reusing {args.reuse_unfired}: its answer stands for each question where "
                  f"none of the {len(reuse.newly_off)} rule(s) switched off here fired "
                  f"({', '.join(sorted(reuse.newly_off)) or 'none'})", file=sys.stderr)
        outcome = run_eval(task, items, agent, out_dir, concurrency=concurrency,
                           progress=not args.no_progress, config=config, reuse=reuse)
    except ValueError as exc:  # a folder holding another run, or a base that cannot stand in
        print(f"error: {exc}", file=sys.stderr)
        return None
    if reuse is not None:
        print(f"reused {outcome.reused_now} answer(s) from {reuse.dir}, asked "
              f"{outcome.finished_now} (in all {outcome.report.get('reused', 0)} of "
              f"{len(items)} reused)", file=sys.stderr)
    return outcome


def summary_line(report: dict[str, Any]) -> str:
    low, high = report["ci95"]
    name = "accuracy" if report["metric"] == "accuracy" else report["metric"]
    return (f"{name}: {report['accuracy']:.4f} ({report['n_correct']}/{report['n_total']}) "
            f"95% CI [{low:.3f}, {high:.3f}]  p50 {report['latency_s']['p50']:.1f}s  "
            f"{report['questions_per_minute']:.2f} q/min")


def side_by_side(reports: list[tuple[str, dict[str, Any]]]) -> str:
    header = (f"{'strategy':<10} {'score':>7} {'95% CI':>15} {'right':>7} {'errors*':>8} "
              f"{'p50 s':>7} {'tok in/q':>9} {'tok out/q':>9} {'q/min':>7}")
    lines = [header, "-" * len(header)]
    for name, r in reports:
        low, high = r["ci95"]
        errs = sum(v for k, v in r["errors"].items() if k != "wrong_answer")
        lines.append(
            f"{name:<10} {100 * r['accuracy']:>6.1f}% {f'{100 * low:.1f}-{100 * high:.1f}%':>15} "
            f"{r['n_correct']:>3}/{r['n_total']:<3} {errs:>8} {r['latency_s']['p50']:>7.1f} "
            f"{r['tokens_per_question']['in']:>9.0f} {r['tokens_per_question']['out']:>9.0f} "
            f"{r['questions_per_minute']:>7.2f}")
    lines.append("* errors: tool error, limit reached, model-format failure, crash or not run")
    return "\n".join(lines)


# ---------------------------------------------------------------- compare


def run_compare(args: argparse.Namespace) -> int:
    from evals.compare import compare_runs, comparison_row, render_comparison

    try:
        cmp = compare_runs(_run_dirs(args.run_a), _run_dirs(args.run_b))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.row is not None:
        print(comparison_row(cmp, args.row or None))
    else:
        print(render_comparison(cmp, verbose=not args.quiet))
    return 0


def _run_dirs(spec: str) -> list[Path]:
    return [Path(p) for p in spec.split(",") if p.strip()]


# ---------------------------------------------------------------- ablate


def run_ablate(args: argparse.Namespace) -> int:
    """Each family (or rule) off in turn, reusing the base's unfired answers; then the table."""
    from agent.rules import FAMILIES
    from evals.ablation import ablation_rows, render_table, sub_run_dir

    names = [n.strip() for n in (args.families or ",".join(FAMILIES)).split(",") if n.strip()]
    if not args.table_only:
        from agent.errors import UnknownRuleError
        from agent.rules import select
        from evals.runner import read_run_info

        try:
            for name in names:
                select(without=name)
        except UnknownRuleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        base_config = read_run_info(args.base).get("config")
        if not base_config:
            print(f"error: {args.base} has no run.json: pass the run folder of the eval with "
                  "every default rule on", file=sys.stderr)
            return 2
        for name in names:
            code = run_dataset(_ablation_args(args, base_config, name, sub_run_dir(args.base,
                                                                                  name)))
            if code != 0:
                return code
    try:
        rows = ablation_rows(args.base, names)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render_table(rows))
    return 0


def _ablation_args(args: argparse.Namespace, base_config: dict[str, Any], name: str,
                   out: Path) -> argparse.Namespace:
    """`eval DATASET` arguments for one ablation: the base's slice and settings unless given,
    NAME off, the base's unfired answers reused."""

    def given_or_base(value: Any, key: str) -> Any:
        return value if value is not None else base_config.get(key)

    data = args.data if args.data is not None else (
        Path(base_config["questions"]) if base_config.get("questions") else None)
    return argparse.Namespace(
        dataset=args.dataset, questions=data, data=data,
        limit=given_or_base(args.limit, "limit"), offset=given_or_base(args.offset, "offset") or 0,
        max_steps=given_or_base(args.max_steps, "max_steps"),
        samples=given_or_base(args.samples, "samples"),
        effort=given_or_base(args.effort, "effort"), concurrency=args.concurrency,
        model=args.model, base_url=args.base_url, local=args.local,
        strategy="agent", strategies=None, baselines=False,
        rules=None, without=[name], reuse_unfired=args.base, out=out,
        no_progress=args.no_progress)


# ---------------------------------------------------------------- sheetcopilot


def run_sheetcopilot(args: argparse.Namespace) -> int:
    if args.check is not None:
        if not args.task:
            print("error: --check needs --task ID", file=sys.stderr)
            return 2
        from evals.sheetcopilot import check_task

        result = check_task(args.check, args.task, data_dir=args.data_dir)
        print("pass" if result.passed else f"fail: {result.reason}")
        return 0 if result.passed else 1
    if args.limit is None and args.task_set is None and args.task_ids is None:
        print("error: pass --check RESULT.xlsx --task ID, or --set/--limit/--task-ids to run "
              "the agent", file=sys.stderr)
        return 2
    from agent.errors import UnknownRuleError
    from evals.sheetcopilot_run import run_sheetcopilot_tasks

    try:
        options: dict[str, Any] = {"rules": rule_set(args)}
    except UnknownRuleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.effort:
        options["effort"] = args.effort
    if args.timeout:
        options["timeout_s"] = args.timeout
    backend = make_backend(args)
    ids = [i.strip() for i in args.task_ids.split(",") if i.strip()] if args.task_ids else None
    try:
        report = run_sheetcopilot_tasks(
            backend, label=backend.name, limit=args.limit, out_dir=args.out,
            data_dir=args.data_dir, max_steps=args.max_steps, task_set=args.task_set or "all",
            ids=ids, agent_options=options, progress=not args.no_progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Exec@1: {report['exec_at_1']:.4f}  Pass@1: {report['pass_at_1']:.4f} "
          f"({report['passed']}/{report['n_total']})  report: {args.out / 'report.md'}")
    return 0
