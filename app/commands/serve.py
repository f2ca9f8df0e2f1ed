"""`tablepilot serve MODEL`: start vLLM's OpenAI-compatible server with the flags tablepilot
needs (tool calling, prefix caching, context length), wait until healthy, print the URL."""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from app.cli import with_examples


def build_command(args: argparse.Namespace) -> list[str]:
    exe = shutil.which("vllm")
    base = [exe, "serve"] if exe else [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
                                       "--model"]
    cmd = [*base, args.model, "--host", args.host, "--port", str(args.port),
           "--enable-auto-tool-choice", "--tool-call-parser", args.tool_parser,
           "--enable-prefix-caching", "--max-model-len", str(args.max_model_len)]
    if args.tensor_parallel_size > 1:
        cmd += ["--tensor-parallel-size", str(args.tensor_parallel_size)]
    if args.pipeline_parallel_size > 1:
        cmd += ["--pipeline-parallel-size", str(args.pipeline_parallel_size)]
    if args.ray:
        cmd += ["--distributed-executor-backend", "ray"]
    if args.gpu_memory_utilization:
        cmd += ["--gpu-memory-utilization", str(args.gpu_memory_utilization)]
    # --api-key goes to vLLM as VLLM_API_KEY (see child_env): a command line is visible to
    # every user of the machine (ps), an environment is not.
    return cmd + shlex.split(args.vllm_args or "")


def child_env(args: argparse.Namespace) -> dict[str, str] | None:
    """vLLM's environment: this one, plus VLLM_API_KEY when --api-key is given."""
    import os

    return {**os.environ, "VLLM_API_KEY": args.api_key} if args.api_key else None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="start a vLLM server for the agent (GPU)",
                              description="Start `vllm serve MODEL` with tool calling and prefix "
                                          "caching, wait for /health, print the URL to use.",
                              **with_examples(
                                  "tablepilot serve Qwen/Qwen2.5-7B-Instruct",
                                  "tablepilot serve Qwen/Qwen2.5-72B-Instruct -tp 4 --port 8001",
                                  "tablepilot serve Qwen/Qwen2.5-7B-Instruct --dry-run"))
    p.add_argument("model", help="a Hugging Face model id or local path, e.g. Qwen/Qwen2.5-7B-Instruct")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 shares it: add "
                        "--api-key)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--max-model-len", type=int, default=16384,
                   help="longest prompt plus answer, in tokens (default 16384)")
    p.add_argument("--tool-parser", default="hermes",
                   help="vLLM tool-call parser (hermes for Qwen2.5; llama3_json for Llama 3.x)")
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=1,
                   help="GPUs per model replica (tensor parallel)")
    p.add_argument("--pipeline-parallel-size", "-pp", type=int, default=1,
                   help="pipeline stages, e.g. one per node with --ray")
    p.add_argument("--ray", action="store_true", help="use a running Ray cluster (multi-node)")
    p.add_argument("--gpu-memory-utilization", type=float, default=None, metavar="FRACTION",
                   help="share of GPU memory vLLM may take, e.g. 0.85 (default: vLLM's)")
    p.add_argument("--api-key", default=None,
                   help="require this key (given to vLLM as VLLM_API_KEY, not on its command line)")
    p.add_argument("--health-timeout", type=float, default=900.0, metavar="SECONDS",
                   help="how long to wait for the model to load (default 900)")
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    p.add_argument("--vllm-args", default="", help="more vllm options, quoted: "
                   "--vllm-args '--dtype bfloat16 --max-num-seqs 128'")
    p.set_defaults(func=run)


def vllm_installed() -> bool:
    import importlib.util

    return shutil.which("vllm") is not None or importlib.util.find_spec("vllm") is not None


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(2.0)
    return False


def run(args: argparse.Namespace) -> int:
    cmd = build_command(args)
    if args.dry_run:
        print(("VLLM_API_KEY=*** " if args.api_key else "") + " ".join(cmd))
        return 0
    if not vllm_installed():
        print("error: vLLM is not installed. On a machine with an NVIDIA GPU: "
              "pip install 'tablepilot[gpu]' (or pip install vllm). Without a GPU, use the local "
              "CPU model: tablepilot ask --local FILE QUESTION", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}"
    print("starting: " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.Popen(cmd, env=child_env(args))
    try:
        if not wait_healthy(url, proc, args.health_timeout):
            code = proc.poll()
            print(f"error: vLLM did not become healthy at {url}/health"
                  + (f" (exited with {code})" if code is not None else ""), file=sys.stderr)
            if code is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
            return 1
        print(f"ready: {url}/v1  (model {args.model})")
        print(f"use it: export TABLEPILOT_BASE_URL={url}/v1 TABLEPILOT_MODEL={args.model}")
        sys.stdout.flush()
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
