"""What every stage shares: params, device, MLflow ids, timing, and its ``stage.json`` record."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from leakaudit.config import Params, load_params
from leakaudit.runtime import setup
from leakaudit.store import write_json
from leakaudit.tracking import Tracker

OUT = Path("outputs")
MODELS = Path("models")
AUDIT_SECTIONS = ("base", "data", "model", "prepare", "pretrain", "finetune", "query", "attack",
                  "evaluate")


@dataclass
class Stage:
    name: str
    params: Params
    device: torch.device
    tracker: Tracker
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        d = OUT / self.name
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def run_id(self) -> str | None:
        return self.tracker.parent_id


@contextmanager
def stage(name: str, sections: tuple[str, ...]) -> Iterator[Stage]:
    """Run a stage body; record compute seconds, metrics and run ids in ``outputs/<name>``."""
    params = load_params(os.environ.get("LEAKAUDIT_PARAMS", "params.yaml"))
    device = setup(params.base)
    tracker = Tracker(params, name, AUDIT_SECTIONS)
    ctx = Stage(name, params, device, tracker)
    start = time.perf_counter()
    yield ctx
    seconds = time.perf_counter() - start
    record: dict[str, Any] = {"stage": name, "compute_seconds": round(seconds, 3),
                              "device": str(device), "threads": params.base.threads,
                              "metrics": ctx.metrics, **tracker.ids()}
    write_json(ctx.out / "stage.json", record)
    tracker.log_stage(params.model_dump(include=set(sections)),
                      {**ctx.metrics, "compute_seconds": seconds})
    print(f"[{name}] {seconds:.1f} s  {ctx.metrics}")
