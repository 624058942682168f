"""A journal directory belongs to one config: ``manifest.json`` stores the config and
its fingerprint (``TableConfig.fingerprint``), and a build refuses to mix in texts of
another config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import TableConfig, config_from_dict
from .errors import TableConfigError


def _refingerprint(stored: Any) -> str | None:
    """Fingerprint, under today's rule, of the config a manifest stores (None if unreadable)."""
    if not isinstance(stored, dict):
        return None
    data = {k: v for k, v in stored.items() if k not in ("base_dir", "out")}
    try:
        return config_from_dict(data).fingerprint()
    except (TableConfigError, TypeError, ValueError):
        return None


def check_manifest(parts: Path, cfg: TableConfig) -> None:
    """Refuse (``TableConfigError``) journals of another config; record this config's."""
    manifest = parts / "manifest.json"
    fp = cfg.fingerprint()
    if manifest.is_file():
        stored = json.loads(manifest.read_text())
        old = stored.get("fingerprint")
        if old == fp:
            return
        if _refingerprint(stored.get("config")) != fp:
            raise TableConfigError(
                f"{parts} holds texts of another config (fingerprint {old} != {fp}); "
                "remove it or use --fresh"
            )
        # Same texts, fingerprint written under an older rule (e.g. when the judge was
        # still part of it): keep the journal and record today's fingerprint.
    parts.mkdir(parents=True, exist_ok=True)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fp, "config": cfg.model_dump()}, indent=1))
    os.replace(tmp, manifest)
