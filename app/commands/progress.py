"""Live progress on a terminal while a question runs: a spinner on stderr that says which step
is running and for how long, with each finished step printed above it. Off when stderr is not a
terminal (piped, --json, --quiet), or asks for plain text (NO_COLOR, TERM=dumb): the output
then holds only what was asked for, without cursor movements."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from app.cli import make_console


class StepProgress:
    """The spinner of one question: ``on_step`` prints a finished step and moves on."""

    def __init__(self, console: Any, print_step: Callable[[Any, Any], None]) -> None:
        self.console = console
        self.print_step = print_step
        self.started = time.monotonic()
        self.status: Any = None
        self.steps = 0

    def label(self) -> str:
        return (f"step {self.steps + 1}: the model is writing the next step "
                f"({time.monotonic() - self.started:.0f} s so far)")

    def on_step(self, step: Any) -> None:
        self.steps += 1
        self.print_step(self.console, step)
        if self.status is not None:
            self.status.update(self.label())

    def tick(self) -> None:
        if self.status is not None:
            self.status.update(self.label())


@contextmanager
def live_progress(print_step: Callable[[Any, Any], None], *, enabled: bool,
                  fallback: Any) -> Iterator[Callable[[Any], None]]:
    """The ``on_step`` to pass to the agent: a spinner with elapsed time on a terminal's stderr
    (steps printed above it), else ``print_step`` to ``fallback`` (the command's console)."""
    plain = bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"
    if not enabled or plain or not sys.stderr.isatty():
        yield lambda step: print_step(fallback, step)
        return
    progress = StepProgress(make_console(stderr=True), print_step)
    with progress.console.status(progress.label(), spinner="dots") as status:
        progress.status = status
        stop = _ticker(progress)
        try:
            yield progress.on_step
        finally:
            stop()


def _ticker(progress: StepProgress) -> Callable[[], None]:
    """Refresh the elapsed seconds once a second (the spinner alone would not)."""
    import threading

    done = threading.Event()

    def run() -> None:
        while not done.wait(1.0):
            progress.tick()

    threading.Thread(target=run, daemon=True, name="tablepilot-progress").start()
    return done.set
