"""The host side of one warm worker: start it, talk to it under a deadline, kill it.

Every reply is untrusted. Each request goes out on the control socket with the write end of a
fresh pipe; the reply is read from that pipe only, must be exactly one message that repeats
the request's random ``id``, and the pipe must then reach end-of-file. Anything else (extra
bytes, a foreign id, a header nested too deep, too many bytes) is a protocol error: the worker
is killed and a fresh one answers the next call, so a forged reply can never shift later ones.
Nothing the worker sends is unpickled or executed.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import socket
import subprocess
import time
import weakref
from typing import Any

from tools.sandbox import protocol
from tools.sandbox.launcher import Layout, plan, site_dirs_inside, spawn
from tools.sandbox.limits import SandboxLimits

# After the reply, how long the worker may take to close its end of the pipe.
_EOF_GRACE_S = 5.0
# The worker's exit status when it ended itself while idle (threads burning CPU between calls);
# the request sent to it was never read, so it may be sent again to a fresh worker.
IDLE_EXIT = 75


class WorkerGone(Exception):
    """The worker is no longer usable (died, timed out or broke the protocol); it was killed."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # 'timeout', 'died', 'protocol', 'start', 'idle'


def _kill(proc: subprocess.Popen[bytes], control: socket.socket) -> None:
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
    control.close()
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
        self.control, inside = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = spawn(launch, stdin=inside.fileno(), stdout=subprocess.DEVNULL)
        except BaseException:
            self.control.close()
            raise
        finally:
            inside.close()
        self.control.shutdown(socket.SHUT_RD)  # the worker never talks on this socket
        self._finalizer = weakref.finalize(self, _kill, self.proc, self.control)
        self.loaded_version: int | None = None
        self.cpu_used_s = 0.0
        self.retired: str | None = None  # why the worker ended itself after its last reply
        try:
            header, _ = self.call({"op": "hello"}, limits.startup_s)
        except WorkerGone as exc:
            raise WorkerGone(f"the sandbox could not start: {exc}{self._stderr_tail()}",
                             reason="start") from exc
        if not header.get("ok"):
            error = header.get("error") or {}
            self.kill()
            message = error.get("message") if isinstance(error, dict) else None
            raise WorkerGone(str(message or "the sandbox worker failed to start"), reason="start")
        self.startup_s = time.perf_counter() - started
        self.info = header

    @property
    def alive(self) -> bool:
        return self.retired is None and self.proc.poll() is None

    def kill(self) -> None:
        self._finalizer()

    def call(self, header: dict[str, Any], timeout_s: float) -> tuple[dict[str, Any], list[bytes]]:
        if not self.alive:
            raise WorkerGone(self._death(), reason="died")
        request_id = secrets.token_hex(16)
        data = protocol.encode({**header, "id": request_id})
        deadline = time.monotonic() + timeout_s
        reply_in, reply_out = os.pipe()
        try:
            try:
                sent = socket.send_fds(self.control, [data], [reply_out])
                if sent < len(data):
                    self.control.sendall(data[sent:])
            except OSError as exc:
                self.kill()
                reason = "idle" if self.proc.poll() == IDLE_EXIT else "died"
                raise WorkerGone(f"the sandbox process is gone ({exc})", reason=reason) from exc
            finally:
                os.close(reply_out)
            reply, blobs = self._receive(reply_in, deadline)
        except WorkerGone as exc:
            if exc.reason == "died" and self.proc.poll() == IDLE_EXIT:
                raise WorkerGone("the sandbox ended itself before the call: a thread left by an "
                                 "earlier call kept using CPU", reason="idle") from exc
            raise
        finally:
            os.close(reply_in)
        if reply.get("id") != request_id:
            self.kill()
            raise WorkerGone("the sandbox sent a reply that does not belong to the request",
                             reason="protocol")
        if isinstance(reply.get("cpu_used_s"), (int, float)):
            self.cpu_used_s = float(reply["cpu_used_s"])
        if reply.get("retire"):
            self.retired = str(reply["retire"])[:200]
            self.kill()
        return reply, blobs

    # ---- reading under a deadline

    def _receive(self, fd: int, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        try:
            size = protocol.header_length(self._read(fd, protocol.PREFIX_BYTES, deadline))
            header = protocol.decode_header(self._read(fd, size, deadline))
            budget = self.limits.max_reply_mb * 1024 * 1024
            if sum(header["blobs"]) > budget:
                raise protocol.ProtocolError(f"reply over {self.limits.max_reply_mb} MiB")
            blobs = [self._read(fd, n, deadline) for n in header["blobs"]]
            if self._read_some(fd, min(deadline, time.monotonic() + _EOF_GRACE_S)):
                raise protocol.ProtocolError("more than one reply to one request (was something "
                                             "written to the sandbox's reply channel?)")
        except protocol.ProtocolError as exc:
            self.kill()
            raise WorkerGone(f"the sandbox sent a malformed reply ({exc})", reason="protocol") from exc
        return header, blobs

    def _read_some(self, fd: int, deadline: float) -> bytes:
        """Up to 1 MiB once readable, b'' at end-of-file; a protocol error if neither comes."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise protocol.ProtocolError("the reply channel stayed open after the reply")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                return os.read(fd, 1 << 20)

    def _read(self, fd: int, n: int, deadline: float) -> bytes:
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
        if self.retired is not None:
            return f"the sandbox was stopped after the last call ({self.retired})"
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
