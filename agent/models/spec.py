"""One string that names a model, the same for the CLI, the app and the evals.

    local:                         the default managed local model (llama.cpp on this machine)
    local:NAME                     a named managed local model (see agent.models.weights)
    openai:NAME@URL                NAME at an OpenAI-compatible server (vLLM, ...); URL may be
                                   a comma-separated list, called round robin
    openai:NAME                    NAME at TABLEPILOT_BASE_URL
    openai:@URL                    the first model the server lists
    scripted:PATH                  a JSON or YAML list of scripted replies (demos and tests)

Parsing is pure (no file is read, no server called): ``load_script`` reads a scripted file.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.errors import ModelSpecError

SpecKind = Literal["local", "openai", "scripted"]
KINDS: tuple[SpecKind, ...] = ("local", "openai", "scripted")
FORMS = ("local:[NAME]", "openai:NAME@URL[,URL...]", "openai:NAME (at TABLEPILOT_BASE_URL)",
         "scripted:<path to a JSON or YAML list>")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: which kind of backend, the model's name, its server(s), its script."""

    kind: SpecKind
    name: str | None = None
    urls: tuple[str, ...] = ()
    path: Path | None = None


def _error(text: str, problem: str) -> ModelSpecError:
    return ModelSpecError(f"model spec {text!r}: {problem}; accepted forms: {', '.join(FORMS)}")


def spec_prefix(text: str) -> str | None:
    """The kind a string names with its ``KIND:`` prefix, or None for a bare model name."""
    head, colon, _ = text.strip().partition(":")
    return head if colon and head in KINDS else None


def looks_misspelt(text: str) -> str | None:
    """The kind a prefix like ``opnai:`` was probably meant to be (None: not a near miss)."""
    head, colon, _ = text.strip().partition(":")
    if not colon or not head.isalpha():
        return None
    close = difflib.get_close_matches(head.lower(), KINDS, n=1, cutoff=0.75)
    return close[0] if close and close[0] != head else None


def _urls(text: str, listed: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in listed.split(","))
    for url in urls:
        if not url:
            raise _error(text, "an empty URL in the server list")
        if not url.startswith(("http://", "https://")):
            raise _error(text, f"the server URL {url!r} must start with http:// or https://")
    return urls


def _local_name(text: str, name: str) -> str:
    from agent.models.weights import MODELS

    if name not in MODELS:
        raise _error(text, f"no local model named {name!r} (known: {', '.join(MODELS)})")
    return name


def parse_spec(text: str) -> ModelSpec:
    """Read a model spec string; ModelSpecError names the problem and the accepted forms."""
    stripped = text.strip()
    kind = spec_prefix(stripped)
    if kind is None:
        meant = looks_misspelt(stripped)
        hint = f" (did you mean {meant}:?)" if meant else ""
        raise _error(text, f"it does not start with local:, openai: or scripted:{hint}")
    rest = stripped.partition(":")[2].strip()
    if kind == "local":
        return ModelSpec("local", _local_name(text, rest) if rest else None)
    if kind == "openai":
        name, at, listed = rest.partition("@")
        if at and not listed.strip():
            raise _error(text, "nothing after '@': name the server URL")
        return ModelSpec("openai", name.strip() or None, _urls(text, listed) if at else ())
    if not rest:
        raise _error(text, "scripted: needs the path of the script file")
    return ModelSpec("scripted", path=Path(rest).expanduser())


def spec_string(spec: ModelSpec) -> str:
    """The string that parses back to ``spec``."""
    if spec.kind == "local":
        return f"local:{spec.name or ''}"
    if spec.kind == "openai":
        servers = f"@{','.join(spec.urls)}" if spec.urls else ""
        return f"openai:{spec.name or ''}{servers}"
    return f"scripted:{spec.path}"


def load_script(path: Path) -> list[Any]:
    """The replies a scripted spec's file lists (JSON, or YAML for .yaml/.yml)."""
    import yaml

    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelSpecError(f"scripted model {path}: cannot read it ({exc.strerror})") from None
    try:
        turns = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ModelSpecError(f"scripted model {path}: not valid {'YAML' if is_yaml else 'JSON'}"
                             f" ({' '.join(str(exc).split())})") from None
    if not isinstance(turns, list):
        raise ModelSpecError(f"scripted model {path}: the file must hold a list of replies, "
                             f"not a {type(turns).__name__}")
    return turns


def scripted_model(spec: ModelSpec) -> Any:
    """A ScriptedChatModel that answers from the spec's file."""
    from agent.models.scripted import ScriptedChatModel

    if spec.path is None:
        raise ModelSpecError("a scripted model spec needs the path of its script")
    return ScriptedChatModel(load_script(spec.path), name=f"scripted:{spec.path.name}")
