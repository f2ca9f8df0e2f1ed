"""WikiTQ on a GPU: start vLLM on a local model, run a dev slice at high concurrency, print
accuracy and throughput in one table, stop the server.

    python benchmarks/gpu_wikitq.py --model-path /models/Qwen2.5-7B-Instruct --limit 500 \\
        --concurrency 64 --strategies agent,direct,sql_once

Needs an NVIDIA GPU and the ``vllm`` command (``pip install 'tablepilot[gpu]'``); without them it
stops at once and says which is missing. ``--base-url`` skips the server and uses a running
OpenAI-compatible endpoint instead. Each strategy's run folder (``--out``/<strategy>) is a normal
eval run: rerun the same command to resume it, compare runs with ``tablepilot eval compare``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class Unavailable(RuntimeError):
    """The machine cannot run this benchmark; the message says why."""


def preflight(model_path: Path | None, *, need_server: bool) -> None:
    """Fail fast: no model folder, no vllm command, no visible NVIDIA GPU."""
    if not need_server:
        return
    if model_path is None:
        raise Unavailable("--model-path is required (a model folder on local disk), "
                          "or pass --base-url to use a running server")
    if not model_path.exists():
        raise Unavailable(f"model path {model_path} does not exist")
    if shutil.which("vllm") is None:
        raise Unavailable("the `vllm` command is not installed: pip install 'tablepilot[gpu]' "
                          "(needs an NVIDIA GPU with CUDA)")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise Unavailable("no NVIDIA GPU: `nvidia-smi` is not on PATH")
    probe = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0 or "GPU" not in probe.stdout:
        said = probe.stdout.strip() or probe.stderr.strip()
        raise Unavailable(f"no NVIDIA GPU visible: nvidia-smi -L said {said!r}")


class VLLMServer:
    """``vllm serve`` in its own process group, with its log in the run folder."""

    def __init__(self, model_path: Path, *, name: str, port: int, log_path: Path,
                 extra: list[str]) -> None:
        self.model_path, self.name, self.port, self.log_path = model_path, name, port, log_path
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return ["vllm", "serve", str(self.model_path), "--served-model-name", self.name,
                "--host", "127.0.0.1", "--port", str(self.port), *self.extra]

    def start(self, timeout_s: float) -> None:
        import httpx

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the server
        print("starting:", " ".join(self.command()), file=sys.stderr)
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vllm exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(3)
        raise RuntimeError(f"vllm not ready after {timeout_s:.0f}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def run_slice(base_url: str, model_name: str, args: argparse.Namespace) -> list[tuple[str, Any]]:
    from agent import TableAgent
    from agent.models.openai_compat import openai_chat_model
    from evals.runner import run_eval
    from evals.tasks import WikiTQTask

    task = WikiTQTask(args.questions)
    items = task.load(limit=args.limit)
    model = openai_chat_model(base_url, model_name, max_tokens=args.max_tokens,
                              timeout_s=args.request_timeout)
    results = []
    for strategy in args.strategies.split(","):
        strategy = strategy.strip()
        config = {"dataset": "wikitq", "strategy": strategy, "model": model_name,
                  "questions": str(task.questions), "limit": args.limit,
                  "concurrency": args.concurrency, "backend": "vllm"}
        samples = args.samples if strategy == "agent" else 1
        if strategy == "agent":
            config["samples"] = samples
        agent = TableAgent(model, strategy=strategy, samples=samples)
        outcome = run_eval(task, items, agent, args.out / strategy,
                           concurrency=args.concurrency, progress=True, config=config)
        results.append((strategy, outcome.report))
        if outcome.interrupted:
            break
    return results


def render(results: list[tuple[str, Any]], model_name: str) -> str:
    header = (f"{'strategy':<10} {'n':>5} {'accuracy':>9} {'95% CI':>13} {'q/min':>8} "
              f"{'tok/s':>9} {'out tok/s':>9} {'p50 s':>6} {'p95 s':>6}")
    lines = [f"WikiTQ dev slice on {model_name}", header, "-" * len(header)]
    for name, r in results:
        low, high = r["ci95"]
        lines.append(
            f"{name:<10} {r['n_total']:>5} {100 * r['accuracy']:>8.1f}% "
            f"{f'{100 * low:.1f}-{100 * high:.1f}':>13} {r['questions_per_minute']:>8.1f} "
            f"{r['tokens_per_second']:>9.0f} {r['output_tokens_per_second']:>9.0f} "
            f"{r['latency_s']['p50']:>6.1f} {r['latency_s']['p95']:>6.1f}")
    if len(results) > 1:
        base = results[0][1]["accuracy"]
        for name, r in results[1:]:
            lines.append(f"{results[0][0]} - {name}: {100 * (base - r['accuracy']):+.1f} points")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-path", type=Path, default=None, help="model folder on local disk")
    p.add_argument("--served-name", default=None, help="model name at the server")
    p.add_argument("--base-url", default=None, help="use this running endpoint, start nothing")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--questions", type=Path, default=None, help="default: the WikiTQ dev set")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--strategies", default="agent,direct,sql_once")
    p.add_argument("--out", type=Path, default=Path("runs/gpu-wikitq"))
    p.add_argument("--max-tokens", type=int, default=1024, help="per model call")
    p.add_argument("--samples", type=int, default=1,
                   help="agent: drafts per query step, voted on by result (vLLM's prefix cache "
                        "makes the extra drafts cheap)")
    p.add_argument("--request-timeout", type=float, default=300.0)
    p.add_argument("--tool-call-parser", default="hermes", help="vLLM tool parser (Qwen: hermes)")
    p.add_argument("--max-model-len", type=int, default=16384)
    p.add_argument("--gpu-memory-utilization", type=float, default=0.90)
    p.add_argument("--startup-timeout", type=float, default=1200.0)
    p.add_argument("--vllm-arg", action="append", default=[], help="extra vllm serve argument")
    args = p.parse_args(argv)

    try:
        preflight(args.model_path, need_server=args.base_url is None)
    except Unavailable as exc:
        print(f"gpu_wikitq: cannot run here: {exc}", file=sys.stderr)
        return 2
    name = args.served_name or (args.model_path.name if args.model_path else "served-model")
    server = None
    if args.base_url is None:
        server = VLLMServer(
            args.model_path, name=name, port=args.port, log_path=args.out / "vllm.log",
            extra=["--enable-auto-tool-choice", "--tool-call-parser", args.tool_call_parser,
                   "--max-model-len", str(args.max_model_len),
                   "--gpu-memory-utilization", str(args.gpu_memory_utilization),
                   *args.vllm_arg])
    try:
        if server is not None:
            server.start(args.startup_timeout)
        base_url = server.base_url if server else args.base_url
        started = time.monotonic()
        results = run_slice(base_url, name, args)
        print(render(results, name))
        print(f"total wall time {time.monotonic() - started:.0f}s; run folders under {args.out}")
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
