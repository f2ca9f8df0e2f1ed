"""The eval runner: a dataset's items through ``TableAgent.batch``, persisted as they finish.

A run folder holds:

* ``answers.jsonl``: one line per finished item, ``{"id", "answer": Answer.to_dict(),
  "prediction": [...], "score": ...}``, appended and flushed as each item finishes; a rerun
  with the same folder skips the items already there (an interrupted run resumes);
* ``predictions.tsv``: the official prediction format, appended as items finish and rewritten
  in question order at the end;
* ``run.json``: the configuration (with ``rules_off``, the agent's rules switched off) and the
  wall time spent so far;
* ``report.json`` and ``report.md`` (see ``evals.report``).

With ``reuse`` (``evals.reuse``), a question whose answer in a base run fired none of the rules
this run switches off is copied from the base (marked ``reused_from``) instead of asked again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.answer import Answer
from evals.report import ItemResult, build_report, write_report
from evals.tasks import EvalItem, EvalTask
from evals.wikitq_scoring import format_prediction_line

if TYPE_CHECKING:
    from evals.reuse import ReuseBase

ANSWERS = "answers.jsonl"
PREDICTIONS = "predictions.tsv"
RUN_INFO = "run.json"


class BatchAgent(Protocol):
    def batch(self, items: Iterable[dict[str, Any]], *, concurrency: int = ...,
              out: Any = ..., progress: bool = ...) -> Iterator[tuple[str, Answer]]: ...


@dataclass
class RunOutcome:
    out_dir: Path
    report: dict[str, Any]
    finished_now: int = 0  # answers the agent gave in this call
    reused_now: int = 0  # answers copied from the reuse base in this call
    interrupted: bool = False
    results: list[ItemResult] = field(default_factory=list)


def load_answers(path: Path) -> dict[str, dict[str, Any]]:
    """{id: record} from an answers file; a torn last line (a killed run) is ignored."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "id" in record and "answer" in record:
                records[str(record["id"])] = record
    return records


def _append_line(f: Any, text: str) -> None:
    f.write(text + "\n")
    f.flush()
    os.fsync(f.fileno())


def _record_for(task: EvalTask, item: EvalItem, answer: Answer) -> dict[str, Any]:
    prediction = task.prediction(answer)
    return {"id": item.id, "answer": answer.to_dict(), "prediction": prediction,
            "score": task.score(item, prediction)}


def read_run_info(out_dir: Path) -> dict[str, Any]:
    """The run folder's ``run.json`` ({} when there is none or it cannot be read)."""
    path = out_dir / RUN_INFO
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except json.JSONDecodeError:
            pass
    return {}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


# What must not change when a run folder is resumed: each changes the answers.
SAME_RUN_KEYS = ("dataset", "strategy", "model", "samples", "effort", "examples", "max_steps",
                 "rules_off")


def _check_same_run(info: dict[str, Any], config: dict[str, Any], out_dir: Path) -> None:
    for key in SAME_RUN_KEYS:
        before, now = info.get("config", {}).get(key), config.get(key)
        if before is not None and now is not None and before != now:
            if key == "rules_off":
                what = (f"the rules {_ids(before)} off, not {_ids(now)}: a resumed run must "
                        "use the same --rules/--without")
            else:
                what = f"{key}={before!r}, not {now!r}"
            raise ValueError(f"{out_dir} holds a run with {what}; use another --out folder, "
                             "or delete this one to start over")


def _ids(rule_ids: list[str]) -> str:
    return "[" + ", ".join(rule_ids) + "]" if rule_ids else "[none]"


def run_eval(task: EvalTask, items: list[EvalItem], agent: BatchAgent, out_dir: Path | str, *,
             concurrency: int = 8, progress: bool = True,
             config: dict[str, Any] | None = None, reuse: ReuseBase | None = None) -> RunOutcome:
    """Ask every item not yet answered in ``out_dir``, then write the report over all items.

    Each answer is appended to ``answers.jsonl`` and ``predictions.tsv`` as it finishes. On
    KeyboardInterrupt the report is still written (unfinished items count as wrong) and the
    outcome says ``interrupted``; call again with the same folder to resume. With ``reuse``,
    the items it has an answer for (one where no rule switched off here fired) are copied
    first, and only the rest are asked.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = dict(config or {})
    config.setdefault("dataset", task.name)
    info = read_run_info(out_dir)
    _check_same_run(info, config, out_dir)
    info["config"] = {**info.get("config", {}), **config}
    info.setdefault("wall_s", 0.0)
    info.setdefault("finished", 0)
    _write_json(out_dir / RUN_INFO, info)

    by_id = {item.id: item for item in items}
    records = {k: v for k, v in load_answers(out_dir / ANSWERS).items() if k in by_id}
    pending = [item for item in items if item.id not in records]
    _rewrite_predictions(out_dir, items, records)
    reused_now = 0
    if reuse is not None and pending:
        pending, reused_now = _copy_reusable(task, pending, reuse, records, out_dir)

    started = time.monotonic()
    finished_now = 0
    interrupted = False
    if pending:
        with open(out_dir / ANSWERS, "a", encoding="utf-8") as answers_f, \
                open(out_dir / PREDICTIONS, "a", encoding="utf-8") as preds_f:
            stream: Iterator[tuple[str, Answer]] | None = None
            bar = _progress_bar(task, items, records) if progress else None
            try:
                stream = agent.batch([it.to_agent_item() for it in pending],
                                     concurrency=concurrency, out=None, progress=False)
                for item_id, answer in stream:
                    item = by_id.get(str(item_id))
                    if item is None or item.id in records:
                        continue
                    record = _record_for(task, item, answer)
                    records[item.id] = record
                    _append_line(answers_f, json.dumps(record, ensure_ascii=False, default=str))
                    _append_line(preds_f, format_prediction_line(item.id, record["prediction"]))
                    finished_now += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix_str(_running_score(records))
            except KeyboardInterrupt:
                interrupted = True
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
                if bar is not None:
                    bar.close()
    info["wall_s"] = float(info["wall_s"]) + (time.monotonic() - started if pending else 0.0)
    info["finished"] = int(info["finished"]) + finished_now
    info["interrupted"] = interrupted
    if reuse is not None:
        info["reused_from"] = str(reuse.dir)
    info["reused"] = sum(1 for r in records.values() if r.get("reused_from"))
    _write_json(out_dir / RUN_INFO, info)

    _rewrite_predictions(out_dir, items, records)
    results = [ItemResult.from_record(task, item, records.get(item.id)) for item in items]
    report = build_report(task, results, wall_s=info["wall_s"], finished=info["finished"],
                          config=info["config"])
    report["interrupted"] = interrupted
    report["reused"] = sum(1 for it in items if (records.get(it.id) or {}).get("reused_from"))
    write_report(out_dir, report)
    return RunOutcome(out_dir=out_dir, report=report, finished_now=finished_now,
                      reused_now=reused_now, interrupted=interrupted, results=results)


def _copy_reusable(task: EvalTask, pending: list[EvalItem], reuse: ReuseBase,
                   records: dict[str, dict[str, Any]], out_dir: Path
                   ) -> tuple[list[EvalItem], int]:
    """Copy the base's answers that ``reuse`` allows into this run; (items left to ask, copied)."""
    left: list[EvalItem] = []
    copied = 0
    with open(out_dir / ANSWERS, "a", encoding="utf-8") as answers_f, \
            open(out_dir / PREDICTIONS, "a", encoding="utf-8") as preds_f:
        for item in pending:
            base = reuse.record_for(item.id)
            if base is None:
                left.append(item)
                continue
            prediction = [str(p) for p in base.get("prediction") or []]
            record = {**base, "id": item.id, "prediction": prediction,
                      "score": task.score(item, prediction)}
            records[item.id] = record
            _append_line(answers_f, json.dumps(record, ensure_ascii=False, default=str))
            _append_line(preds_f, format_prediction_line(item.id, prediction))
            copied += 1
    return left, copied


def _progress_bar(task: EvalTask, items: list[EvalItem],
                  records: dict[str, dict[str, Any]]) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=len(items), initial=len(records), unit="q", desc=task.name,
               dynamic_ncols=True)
    if records:
        bar.set_postfix_str(_running_score(records))
    return bar


def _running_score(records: dict[str, dict[str, Any]]) -> str:
    scores = [float(r.get("score") or 0.0) for r in records.values()]
    return f"score {sum(scores) / len(scores):.3f} over {len(scores)} done"


def _rewrite_predictions(out_dir: Path, items: list[EvalItem],
                         records: dict[str, dict[str, Any]]) -> None:
    lines = [format_prediction_line(item.id, records[item.id]["prediction"])
             for item in items if item.id in records]
    tmp = out_dir / (PREDICTIONS + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(out_dir / PREDICTIONS)
