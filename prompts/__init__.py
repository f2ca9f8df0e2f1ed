"""Prompt templates and few-shot exemplars, stored as data files beside this module."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> str:
    """The text of prompts/<name> (e.g. 'system.md')."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render(name: str, **values: Any) -> str:
    """Fill a template's {placeholders}; literal braces are written {{ }}."""
    return load(name).format(**values)


@cache
def load_jsonl(name: str) -> tuple[dict[str, Any], ...]:
    lines = load(name).splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())
