"""What the sandboxed Python code may use. Every field is enforced by the kernel or the host."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SandboxLimits:
    cpu_s: float = 10.0  # CPU seconds per call (RLIMIT_CPU soft limit, SIGXCPU)
    wall_s: float = 30.0  # wall-clock seconds per call; the host kills the sandbox after it
    memory_mb: int = 2048  # address space of each process (RLIMIT_AS)
    max_processes: int = 16  # processes and threads inside the sandbox (RLIMIT_NPROC)
    max_open_files: int = 256  # RLIMIT_NOFILE
    max_file_mb: int = 64  # largest file the code may write (RLIMIT_FSIZE)
    scratch_mb: int = 256  # size of each of the /scratch and /tmp tmpfs
    session_cpu_s: int = 900  # CPU seconds one warm worker may use before it is replaced
    idle_cpu_s: float = 2.0  # CPU seconds threads may use between calls before the worker ends
    startup_s: float = 60.0  # wall-clock limit for a cold start
    stdout_chars: int = 8000  # printed output kept per call
    value_chars: int = 4000  # text preview of the last expression's value
    max_frames: int = 8  # new or changed DataFrames returned per call
    max_frame_rows: int = 100_000  # rows returned per DataFrame
    max_figures: int = 4  # matplotlib figures returned per call
    max_reply_mb: int = 128  # everything one call may send back

    def worker_config(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_LIMITS = SandboxLimits()
