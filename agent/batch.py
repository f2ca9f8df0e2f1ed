"""Batch table QA: bounded concurrency (threads, so a vLLM server batches the requests), results
streamed as they finish, each appended to a JSONL file (flushed and fsynced), and an interrupted
run resumed without redoing the items already written.

A process killed mid-write leaves at most one partial last line; on resume it is cut off before
anything new is appended, so the file stays one valid JSON object per line.

Ctrl-C stops a batch at once: no new item starts, in-flight runs are abandoned (daemon threads,
so the interpreter does not wait for them at exit) and every line already written is complete.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from agent.answer import Answer
from table_io.errors import TableIOError
from table_io.model import Workbook

if TYPE_CHECKING:
    from agent.core import TableAgent

_RESERVED = {"id", "answer", "source", "question"}


def read_done(path: Path) -> dict[str, dict[str, Any]]:
    """The records already in ``path`` by id, cutting off a partial last line first."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    with path.open("rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            fh.truncate(cut)
            data = data[:cut]
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            done[str(record["id"])] = record
    return done


def load_items(path: str | Path) -> list[dict[str, Any]]:
    """Items from a JSONL file: one ``{"id", "source", "question", ...}`` object per line.
    A relative ``source`` is taken relative to the file's folder when it exists there."""
    path = Path(path)
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not valid JSON: {exc}") from None
        if not isinstance(item, dict) or "question" not in item or "source" not in item:
            raise ValueError(f"{path}:{n}: each line needs 'source' and 'question'")
        item.setdefault("id", str(n))
        src = item["source"]
        if isinstance(src, str) and not Path(src).is_absolute() and (path.parent / src).exists():
            item["source"] = str(path.parent / src)
        items.append(item)
    return items


class WorkbookCache:
    """Opened workbooks by source path, shared by the batch's threads (WikiTQ asks many
    questions of one table); a load failure is cached too, so it is reported per item."""

    def __init__(self, max_items: int = 64) -> None:
        self.max_items = max_items
        self._items: dict[str, Workbook | TableIOError] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, source: Any) -> Workbook:
        if isinstance(source, Workbook):
            return source
        if not isinstance(source, str | os.PathLike):
            from table_io import open_workbook

            return open_workbook(source)
        key = str(Path(source).resolve())
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._items.get(key)
            if hit is None:
                from table_io import open_workbook

                try:
                    hit = open_workbook(source)
                except TableIOError as exc:
                    hit = exc
                with self._lock:
                    if len(self._items) >= self.max_items:
                        self._items.pop(next(iter(self._items)))
                    self._items[key] = hit
        if isinstance(hit, TableIOError):
            raise hit
        return hit


def _record(item: dict[str, Any], answer: Answer) -> dict[str, Any]:
    record: dict[str, Any] = {"id": item["id"], "question": item["question"],
                              "source": str(item["source"]) if not isinstance(
                                  item["source"], str) else item["source"]}
    record.update({k: v for k, v in item.items() if k not in _RESERVED and _is_json(v)})
    record["answer"] = answer.to_dict()
    return record


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _append(fh: IO[bytes], record: dict[str, Any]) -> None:
    """One whole line per write on an unbuffered file, then fsync: an interrupt never leaves a
    line half in a buffer."""
    data = memoryview((json.dumps(record, ensure_ascii=False, default=str) + "\n").encode())
    while data:
        data = data[fh.write(data) or 0:]
    os.fsync(fh.fileno())


def _answer_one(agent: TableAgent, cache: WorkbookCache, item: dict[str, Any],
                stop: threading.Event | None = None) -> Answer:
    question = str(item["question"])
    try:
        workbook = cache.get(item["source"])
    except TableIOError as exc:
        return Answer(question=question, value=None, text=f"Could not open the workbook: {exc}",
                      status="error", stop_reason=f"workbook failed to load: {exc}")

    def check_stop(_step: Any) -> None:  # the loop calls this between steps
        if stop is not None and stop.is_set():
            raise _Cancelled

    try:
        return agent.ask_workbook(workbook, question, on_step=check_stop)
    except Exception as exc:  # one bad item must not end the batch
        return Answer(question=question, value=None, text=f"Failed: {type(exc).__name__}: {exc}",
                      status="error", stop_reason=f"{type(exc).__name__}: {exc}")


class _Cancelled(BaseException):
    """Raised inside a run whose batch was stopped (not an Exception: no item handler eats it)."""


class _Workers:
    """Daemon threads taking items from a queue and putting ``(item, answer)`` on ``done``.

    Daemon threads, not a ThreadPoolExecutor: the interpreter joins an executor's threads at
    exit, so after Ctrl-C the process would wait for every in-flight question. ``stop()`` makes
    the workers take no new item and in-flight runs end at their next step; nothing is waited for.
    """

    def __init__(self, answer: Callable[[dict[str, Any], threading.Event], Answer],
                 items: list[dict[str, Any]], concurrency: int) -> None:
        self.answer = answer
        self.todo: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        for item in items:
            self.todo.put(item)
        self.done: queue.SimpleQueue[tuple[dict[str, Any], Answer]] = queue.SimpleQueue()
        self.stop_event = threading.Event()
        self.interrupted = False  # a KeyboardInterrupt inside a run stops the whole batch
        self.threads = [threading.Thread(target=self._work, name=f"tablepilot-batch-{n}",
                                         daemon=True)
                        for n in range(max(1, min(concurrency, len(items))))]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        while not self.stop_event.is_set():
            try:
                item = self.todo.get_nowait()
            except queue.Empty:
                return
            try:
                answer = self.answer(item, self.stop_event)
            except _Cancelled:
                return
            except KeyboardInterrupt:  # raised inside a run: the consumer re-raises it
                self.interrupted = True
                self.stop_event.set()
                return
            except BaseException as exc:  # reported as the item's answer
                answer = Answer(question=str(item["question"]), value=None,
                                text=f"Failed: {type(exc).__name__}: {exc}", status="error",
                                stop_reason=f"{type(exc).__name__}: {exc}")
            if self.stop_event.is_set():
                return
            self.done.put((item, answer))

    def next_done(self) -> tuple[dict[str, Any], Answer]:
        """The next finished item; waits in short slices so Ctrl-C is seen at once."""
        while True:
            if self.interrupted:
                raise KeyboardInterrupt
            try:
                return self.done.get(timeout=0.2)
            except queue.Empty:
                if self.interrupted:
                    raise KeyboardInterrupt from None
                if not any(t.is_alive() for t in self.threads) and self.done.empty():
                    raise RuntimeError("batch workers ended with items unanswered") from None

    def stop(self) -> None:
        """Take no new item and let in-flight runs end at their next step; waits for nothing."""
        self.stop_event.set()
        while True:  # drop the items not started (a resumed run does them)
            try:
                self.todo.get_nowait()
            except queue.Empty:
                break


def run_batch(agent: TableAgent, items: Iterable[dict[str, Any]], *, concurrency: int = 8,
              out: str | Path | None = None,
              progress: bool = True) -> Iterator[tuple[Any, Answer]]:
    """Yield ``(id, Answer)`` for every item not already in ``out``, as they finish.

    Ctrl-C (or closing the iterator) stops at once: no new item starts, in-flight runs are
    abandoned (they end at their next step; nothing is written for them) and the items already
    yielded stay in ``out``, so a rerun resumes with the rest and answers each item once."""
    todo = []
    for n, item in enumerate(items):
        item = dict(item)
        item.setdefault("id", str(n))
        todo.append(item)
    ids = [str(i["id"]) for i in todo]
    if len(set(ids)) != len(ids):
        raise ValueError("batch items need unique ids")
    out_path = Path(out) if out is not None else None
    done = read_done(out_path) if out_path is not None else {}
    pending = [i for i in todo if str(i["id"]) not in done]
    if pending and agent.backend.kind == "local":
        concurrency = 1  # the llama.cpp server answers one request at a time; queued requests
        # would spend their time budget waiting
    return _drive(agent, pending, len(todo), len(todo) - len(pending), concurrency, out_path,
                  progress)


def _drive(agent: TableAgent, pending: list[dict[str, Any]], total: int, already: int,
           concurrency: int, out_path: Path | None, progress: bool) -> Iterator[tuple[Any, Answer]]:
    if not pending:
        return
    cache = WorkbookCache()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=already, unit="q", desc="batch", dynamic_ncols=True)
    fh = None
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fh = out_path.open("ab", buffering=0)
    workers = _Workers(lambda item, stop: _answer_one(agent, cache, item, stop), pending,
                       concurrency)
    try:
        for _ in range(len(pending)):
            item, answer = workers.next_done()
            if fh is not None:
                _append(fh, _record(item, answer))
            if bar is not None:
                bar.update(1)
            yield item["id"], answer
    finally:
        workers.stop()
        if fh is not None:
            fh.close()
        if bar is not None:
            bar.close()
