"""The host side of one warm worker: start it, talk to it under a deadline, kill it.

Every reply is untrusted: the header is size-checked JSON and the blobs are bytes (Parquet or
PNG) whose total size is capped. Nothing the worker sends is unpickled or executed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
import weakref
from typing import Any

from tools.sandbox import protocol
from tools.sandbox.launcher import Layout, plan, site_dirs_inside, spawn
from tools.sandbox.limits import SandboxLimits


class WorkerGone(Exception):
    """The worker is no longer usable (died, timed out or broke the protocol); it was killed."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # 'timeout', 'died', 'protocol', 'start'


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # bwrap; --die-with-parent takes the sandbox down
        except ProcessLookupError:
            pass
        except PermissionError:
            proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


class Worker:
    """One sandboxed worker process. ``call`` raises ``WorkerGone`` if it must be replaced."""

    def __init__(self, limits: SandboxLimits, layout: Layout) -> None:
        self.limits = limits
        config = {**limits.worker_config(), "site_dirs": site_dirs_inside()}
        launch = plan(layout, json.dumps(config), scratch_mb=limits.scratch_mb)
        started = time.perf_counter()
        self.proc = spawn(launch)
        self._finalizer = weakref.finalize(self, _kill, self.proc)
        self.loaded_version: int | None = None
        self.cpu_used_s = 0.0
        try:
            header, _ = self._receive(time.monotonic() + limits.startup_s)
        except WorkerGone as exc:
            raise WorkerGone(f"the sandbox could not start: {exc}{self._stderr_tail()}",
                             reason="start") from exc
        if not header.get("ok"):
            error = header.get("error") or {}
            self.kill()
            raise WorkerGone(str(error.get("message", "the sandbox worker failed to start")), reason="start")
        self.startup_s = time.perf_counter() - started
        self.info = header

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self._finalizer()

    def call(self, header: dict[str, Any], timeout_s: float) -> tuple[dict[str, Any], list[bytes]]:
        if not self.alive:
            raise WorkerGone(self._death(), reason="died")
        data = protocol.encode(header)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise WorkerGone(f"the sandbox process is gone ({exc})", reason="died") from exc
        reply, blobs = self._receive(time.monotonic() + timeout_s)
        if isinstance(reply.get("cpu_used_s"), (int, float)):
            self.cpu_used_s = float(reply["cpu_used_s"])
        return reply, blobs

    # ---- reading under a deadline

    def _receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        try:
            size = protocol.header_length(self._read(protocol.PREFIX_BYTES, deadline))
            header = protocol.decode_header(self._read(size, deadline))
            budget = self.limits.max_reply_mb * 1024 * 1024
            if sum(header["blobs"]) > budget:
                raise protocol.ProtocolError(f"reply over {self.limits.max_reply_mb} MiB")
            blobs = [self._read(n, deadline) for n in header["blobs"]]
        except protocol.ProtocolError as exc:
            self.kill()
            raise WorkerGone(f"the sandbox sent a malformed reply ({exc})", reason="protocol") from exc
        return header, blobs

    def _read(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks, left = [], n
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerGone("wall-clock limit reached", reason="timeout")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                message = self._death()
                raise WorkerGone(message, reason="died")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        self.kill()
        if code is not None and code < 0:
            return f"the sandbox process was killed by {signal.Signals(-code).name}"
        if code == 137 or code == 128 + signal.SIGKILL:
            return "the sandbox process was killed (SIGKILL: a hard CPU or memory limit)"
        return f"the sandbox process exited (status {code})"

    def _stderr_tail(self) -> str:
        stream = self.proc.stderr
        if stream is None:
            return ""
        try:
            os.set_blocking(stream.fileno(), False)
            text = (stream.read(8192) or b"").decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f": {text.splitlines()[-1]}" if text else ""
