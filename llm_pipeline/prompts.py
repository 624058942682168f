"""The prompt set: a YAML list of one-sentence prompts with stable ids and content types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import TableConfigError


@dataclass(frozen=True)
class PromptSpec:
    """One input prompt of the table."""

    prompt_id: str
    prompt: str
    content_type: str


def check_prompt(prompt: object, max_chars: int, where: str = "prompt") -> str:
    """Return the cleaned prompt or raise TableConfigError for an empty or huge one."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise TableConfigError(f"{where}: empty prompt")
    text = " ".join(prompt.split())
    if len(text) > max_chars:
        raise TableConfigError(f"{where}: prompt of {len(text)} characters exceeds {max_chars}")
    return text


def load_prompts(
    path: str | Path, max_chars: int = 400, max_prompts: int | None = None
) -> list[PromptSpec]:
    """Read and validate a prompt set (``prompts: [{id, type, prompt}, ...]``)."""
    path = Path(path)
    if not path.is_file():
        raise TableConfigError(f"{path}: prompt set not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise TableConfigError(f"{path}: invalid YAML") from None
    items = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise TableConfigError(f"{path}: expected a non-empty list under 'prompts'")
    out: list[PromptSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TableConfigError(f"{path}: prompts[{i}] is not a mapping")
        pid = str(item.get("id", f"p{i:03d}"))
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", pid):
            raise TableConfigError(f"{path}: prompts[{i}]: bad id {pid!r}")
        if pid in seen:
            raise TableConfigError(f"{path}: duplicate prompt id {pid}")
        seen.add(pid)
        text = check_prompt(item.get("prompt"), max_chars, f"{path}: prompts[{i}] ({pid})")
        out.append(PromptSpec(pid, text, str(item.get("type", "generic"))))
    return out[:max_prompts] if max_prompts else out
