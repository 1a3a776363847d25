"""What every stage shares: validated params, device, timing, and its ``stage.json`` record."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakaudit.config import Params, load_params
from leakaudit.store import write_json
from leakaudit.tracking import audit_id

OUT = Path("outputs")
MODELS = Path("models")


@dataclass
class Stage:
    name: str
    params: Params  # or BackdoorParams in the backdoor pipeline
    audit_id: str
    device: Any = None  # torch.device when the stage asked for one
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        d = OUT / self.name
        d.mkdir(parents=True, exist_ok=True)
        return d


@contextmanager
def stage(name: str, sections: tuple[str, ...], torch: bool = True,
          load: Callable[[str], Any] = load_params,
          fingerprint: Callable[[Any], str] = audit_id) -> Iterator[Stage]:
    """Run a stage body; record compute seconds, metrics, its params and the audit id in
    ``outputs/<name>/stage.json`` (the evaluate stage turns these into MLflow runs).
    ``load``/``fingerprint`` read another audit's params (the backdoor pipeline's)."""
    params = load(os.environ.get("LEAKAUDIT_PARAMS", "params.yaml"))
    ctx = Stage(name, params, fingerprint(params))
    if torch:  # imported only by stages that need it (~1 s per process)
        from leakaudit.runtime import setup

        ctx.device = setup(params.base)
    start = time.perf_counter()
    yield ctx
    seconds = time.perf_counter() - start
    record: dict[str, Any] = {
        "stage": name, "audit_id": ctx.audit_id, "compute_seconds": round(seconds, 3),
        "device": str(ctx.device or "cpu"), "threads": params.base.threads,
        "metrics": {k: float(v) for k, v in ctx.metrics.items()},
        "params": params.model_dump(include=set(sections)),
    }
    write_json(ctx.out / "stage.json", record)
    print(f"[{name}] {seconds:.1f} s  {record['metrics']}")
