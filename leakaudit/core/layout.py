"""Where an audit's files live (relative to the pipeline's directory), said once.

A TMI audit runs its per-replicate stages once per seed under
``outputs/replicates/seed-<s>/<stage>/`` and ``models/replicates/seed-<s>/<kind>/``, then
``evaluate`` once under ``outputs/evaluate/``. Every stage directory holds ``stage.json`` (a DVC
output: deterministic) and ``run.json`` (wall times; ignored by DVC and git).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leakaudit.core.store import read_json

OUT = Path("outputs")
MODELS = Path("models")
REPLICATES = "replicates"
STAGE_RECORD = "stage.json"
RUN_RECORD = "run.json"
PLOTS = Path("plots")


def replicate_dir(root: Path, seed: int) -> Path:
    """Where one replicate's files live under ``root`` (outputs/ or models/)."""
    return root / REPLICATES / f"seed-{seed}"


def read_record(directory: Path) -> dict[str, Any]:
    """A stage's ``stage.json`` merged with its ``run.json`` when present (wall times)."""
    record = read_json(directory / STAGE_RECORD)
    if (directory / RUN_RECORD).exists():
        record |= read_json(directory / RUN_RECORD)
    return record
