"""Where an audit's files live (relative to the pipeline's directory), said once.

A TMI audit runs its per-replicate stages (:data:`REPLICATE_STAGES`) once per seed under
``outputs/replicates/seed-<s>/<stage>/`` and ``models/replicates/seed-<s>/<kind>/``, then
``evaluate`` once under ``outputs/evaluate/``. Every stage directory holds ``stage.json`` (a DVC
output: deterministic) and ``run.json`` (wall times; ignored by DVC and git).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakaudit.store import read_json

OUT = Path("outputs")
MODELS = Path("models")
REPLICATES = "replicates"
STAGE_RECORD = "stage.json"
RUN_RECORD = "run.json"
REPLICATE_STAGES = ("prepare", "pretrain", "finetune", "query", "attack")
PLOTS = Path("plots")
ARMS = ("clean", "poisoned")  # privacy-backdoor audits: the two released checkpoints


@dataclass(frozen=True)
class Table:
    """A stage's parquet table, declared once: the stage directory it lives in, its file name
    (may hold ``{fields}``, e.g. the view of a signals table) and its schema
    (:mod:`leakaudit.schemas`)."""

    stage: str
    file: str
    schema: str

    def path(self, root: Path = OUT, **fields: str) -> Path:
        """Its file under ``root`` (an outputs directory)."""
        return root / self.stage / self.file.format(**fields)


def replicate_dir(root: Path, seed: int) -> Path:
    """Where one replicate's files live under ``root`` (outputs/ or models/)."""
    return root / REPLICATES / f"seed-{seed}"


def read_record(directory: Path) -> dict[str, Any]:
    """A stage's ``stage.json`` merged with its ``run.json`` when present (wall times)."""
    record = read_json(directory / STAGE_RECORD)
    if (directory / RUN_RECORD).exists():
        record |= read_json(directory / RUN_RECORD)
    return record


def arm_dir(arm: str) -> Path:
    """A privacy-backdoor audit's released checkpoint of an arm (what a victim downloads)."""
    return MODELS / "released" / arm


def victim_dir(arm: str, victim: int) -> Path:
    """A privacy-backdoor audit's finetuned victim of an arm."""
    return MODELS / "victims" / arm / f"v{victim:03d}"
