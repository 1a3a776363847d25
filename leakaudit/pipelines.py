"""The audit pipelines, each declared once: its folder, params model (which names its MLflow
experiment in ``tracking.experiment``), stages, tables (stage, file, schema), metrics file and
sweep summariser. Flows, sweeps, presets, benches and stage wrappers read this.

Adding an audit = one :class:`Pipeline` entry here + its folder (``dvc.yaml``, ``params.yaml``)
+ its stage modules under ``tasks/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakaudit.layout import REPLICATE_STAGES, Table

ROOT = Path(__file__).resolve().parent.parent  # the repository (pipelines' folders are in it)


def _import(spec: str) -> Any:
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Pipeline:
    """One audit. ``folder`` is relative to the repository root; ``stages(params)`` gives its
    DVC stage names in order; ``params_model`` and ``summariser`` are import paths (imported
    only when used)."""

    name: str
    folder: str
    params_model: str  # "module:Class", a subclass of leakaudit.config.AuditParams
    stages: Callable[[Any], list[str]]
    tables: dict[str, Table]  # every table a stage writes, by the name stages use for it
    summariser: str  # module with summarise(rows, axis, names), plot_sweep(table, path), ...
    preset_prefix: str  # presets whose name starts with it belong to this pipeline
    family: str  # "tmi" or "backdoor": which reports and benches apply
    score_names: str = ""  # backdoor audits: "module:TUPLE" of the score columns
    metrics_file: str = "metrics.json"

    @property
    def metrics_table(self) -> Table:
        """``outputs/evaluate/metrics.parquet``: the audit's metrics table."""
        return self.tables["metrics"]

    @property
    def scores(self) -> tuple[str, ...]:
        """A backdoor audit's score columns (empty for TMI)."""
        return tuple(_import(self.score_names)) if self.score_names else ()

    @property
    def model(self) -> type:
        """The pipeline's params model."""
        return _import(self.params_model)

    def params_file(self, root: Path | None = None) -> Path:
        """Its params.yaml (under ``root``, default: relative to the working directory)."""
        return (root or Path(".")) / self.folder / "params.yaml"

    def load(self, path: str | Path | None = None) -> Any:
        """Load and validate the pipeline's params (default: its params.yaml)."""
        from leakaudit.config import load_model, load_params

        path = path or self.params_file()
        if self.name == "tmi":  # refuses base.seed (set per replicate)
            return load_params(path)
        return load_model(path, self.model)

    def dvc_stages(self, params: Any) -> list[str]:
        """Stage addresses for `dvc repro` from the repository root, in order."""
        names = self.stages(params)
        if self.folder == ".":
            return names
        return [f"{self.folder}/dvc.yaml:{s}" for s in names]


def _tmi_stages(p: Any) -> list[str]:
    return ["params", *(f"{st}@{r}" for r in p.replicates.seeds for st in REPLICATE_STAGES),
            "evaluate", "report"]


TMI_TABLES = {
    "points": Table("prepare", "points.parquet", "points"),
    "membership": Table("prepare", "membership.parquet", "membership"),
    "finetune_subsets": Table("prepare", "finetune_subsets.parquet", "finetune_subsets"),
    "pretrain_stats": Table("pretrain", "model_stats.parquet", "model_stats"),
    "finetune_stats": Table("finetune", "model_stats.parquet", "model_stats"),
    "signals": Table("query", "signals_{view}.parquet", "signals"),
    "scores": Table("attack", "scores.parquet", "scores"),
    "metrics": Table("evaluate", "metrics.parquet", "audit_metrics"),
    "comparisons": Table("evaluate", "comparisons.parquet", "audit_comparisons"),
}


def _backdoor_tables(kind: str) -> dict[str, Table]:
    """The backdoor audits' tables; ``kind`` ("" or "image_") picks the candidate and score
    schemas (the membership and metrics tables are shared)."""
    return {
        "candidates": Table("targets", "candidates.parquet", f"bd_{kind}candidates"),
        "membership": Table("targets", "membership.parquet", "bd_membership"),
        "scores": Table("score", "scores.parquet", f"bd_{kind}scores"),
        "metrics": Table("evaluate", "metrics.parquet", "bd_metrics"),
    }


PIPELINES: dict[str, Pipeline] = {p.name: p for p in (
    Pipeline("tmi", ".", "leakaudit.config:Params", _tmi_stages, TMI_TABLES, "leakaudit.sweeps",
             "", "tmi"),
    Pipeline("backdoor", "backdoor", "leakaudit.backdoor.lm.config:BackdoorParams",
             lambda p: ["lm-pretrain", "targets", "poison", "victims", "score", "evaluate",
                        "report"],
             _backdoor_tables(""), "leakaudit.backdoor.sweeps", "backdoor", "backdoor",
             "leakaudit.backdoor.lm.scores:LM_SCORES"),
    Pipeline("backdoor-vision", "backdoor-vision",
             "leakaudit.backdoor.vision.config:VisionBackdoorParams",
             lambda p: ["pretrain", "targets", "poison", "victims", "score", "evaluate",
                        "report"],
             _backdoor_tables("image_"), "leakaudit.backdoor.sweeps", "backdoor-vision",
             "backdoor", "leakaudit.backdoor.vision.scores:IMAGE_SCORES"),
)}


def get(name: str) -> Pipeline:
    """The pipeline called ``name``; a clear error lists the allowed names."""
    if name not in PIPELINES:
        raise ValueError(f"pipeline: got {name!r}; allowed: {', '.join(map(repr, PIPELINES))}")
    return PIPELINES[name]


def for_preset(preset: str) -> Pipeline:
    """The pipeline a preset belongs to (the longest matching name prefix)."""
    return max((p for p in PIPELINES.values() if preset.startswith(p.preset_prefix)),
               key=lambda p: len(p.preset_prefix))


def for_params_file(path: str | Path) -> Pipeline:
    """The pipeline whose params.yaml is ``path`` (its folder's name; the root is TMI)."""
    folder = Path(path).resolve().parent
    return next((p for p in PIPELINES.values() if p.folder != "." and folder.name == p.folder),
                PIPELINES["tmi"])


def family(name: str) -> list[str]:
    """The names of the pipelines of a family ("tmi", "backdoor")."""
    return [n for n, p in PIPELINES.items() if p.family == name]
