"""What every stage shares: its declaration (:mod:`leakaudit.core.pipeline`), validated params,
device, timing, its ``stage.json`` record, and reading and writing its declared inputs and
outputs by name.

Stages run as ``python -m tasks.<module> --pipeline <name>`` (the generated ``dvc.yaml`` says
so); a per-replicate stage also gets ``--replicate <seed>``: its params are then that
replicate's and its files live under ``outputs/replicates/seed-<seed>/`` and
``models/replicates/seed-<seed>/``. A stage may open only the inputs its declaration names, so
the generated DVC deps are exactly what it reads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from leakaudit.core.layout import RUN_RECORD, STAGE_RECORD, read_record
from leakaudit.core.params import AuditParams
from leakaudit.core.pipeline import ALL_PARAMS, RECORD, Pipeline, Stage, Table
from leakaudit.core.registry import PIPELINES, ROOT
from leakaudit.core.registry import get as get_pipeline
from leakaudit.core.store import write_json
from leakaudit.core.tables import read_table, write_table


@dataclass
class StageRun:
    """One run of a declared stage: ``read``/``write``/``path`` take the names of its declared
    inputs and outputs (an undeclared name fails: DVC would not know the stage reads it)."""

    spec: Stage
    params: AuditParams  # the pipeline's params (per-replicate stages: this replicate's)
    audit_id: str
    pipeline: Pipeline
    device: Any = None  # torch.device when the stage asked for one
    metrics: dict[str, float] = field(default_factory=dict)  # deterministic: in stage.json
    timings: dict[str, Any] = field(default_factory=dict)  # wall times: in run.json only
    replicate: int | None = None  # the replicate's seed, for per-replicate stages

    @property
    def name(self) -> str:
        return self.spec.name

    def _declared(self, name: str) -> None:
        if name not in self.spec.reads and name not in self.spec.writes:
            raise ValueError(f"stage {self.name!r} of {self.pipeline.name!r} does not declare "
                             f"{name!r} among its reads ({', '.join(self.spec.reads) or '–'}) "
                             f"or writes ({', '.join(self.spec.writes) or '–'})")

    def path(self, name: str, replicate: int | None = None, **fields: str) -> Path:
        """The file or directory of a declared input or output (of ``replicate``, default
        this stage's); ``fields`` fill a table's file name (e.g. ``view=``)."""
        self._declared(name)
        return self.pipeline.path(name, self.replicate if replicate is None else replicate,
                                  **fields)

    def read(self, name: str, replicate: int | None = None, **fields: str) -> pd.DataFrame:
        """Read and validate a declared input table (see :meth:`path`)."""
        return read_table(self.path(name, replicate, **fields), self.pipeline.table(name).schema)

    def record(self, stage: str) -> dict[str, Any]:
        """A declared earlier stage's record (``stage.json`` and its wall times)."""
        return read_record(self.path(stage + RECORD).parent)

    def write(self, name: str, df: pd.DataFrame, **fields: str) -> None:
        """Validate and atomically write one of this stage's tables, tagged with the audit id."""
        out = self.spec.writes.get(name)
        if not isinstance(out, Table):
            raise ValueError(f"stage {self.name!r} cannot write table {name!r} (it writes "
                             f"{', '.join(self.spec.writes) or 'none'})")
        self.out.mkdir(parents=True, exist_ok=True)
        write_table(df, self.path(name, **fields), out.schema, audit_id=self.audit_id)

    @property
    def out(self) -> Path:
        """This stage's output directory (of its replicate)."""
        d = self.pipeline.stage_dir(self.name, self.replicate)
        d.mkdir(parents=True, exist_ok=True)
        return d


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--pipeline", default=None)
    ap.add_argument("--replicate", type=int, default=None)
    return ap.parse_known_args(sys.argv[1:])[0]


def _own_pipeline(name: str) -> str:
    """The pipeline a stage module run without ``--pipeline`` belongs to (the one pipeline
    whose declaration runs this module as stage ``name``)."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    module = spec.name if spec else ""
    owners = [n for n, p in PIPELINES.items()
              if any(s.name == name and s.module == module for s in p.stages)]
    if len(owners) != 1:
        raise SystemExit(f"stage {name!r} ({module or 'not run with -m'}): pass --pipeline; "
                         f"allowed: {', '.join(owners or PIPELINES)}")
    return owners[0]


def _project_modules() -> list[str]:
    """The project's source files this process has imported (checked against the stage's
    generated DVC deps by the tests)."""
    root = str(ROOT) + os.sep
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    return sorted(os.path.relpath(f, ROOT) for f in files
                  if f and f.startswith(root) and f.endswith(".py"))


@contextmanager
def stage(name: str, pipeline: str | None = None) -> Iterator[StageRun]:
    """Run the body of the stage ``name`` of the pipeline named by ``--pipeline`` and record
    it in two files beside its outputs:

    - ``stage.json`` (a DVC output): the audit id, the params it reads (its declaration),
      deterministic metrics — the same bytes for the same inputs, so identical runs give an
      identical ``dvc.lock``;
    - ``run.json`` (ignored by DVC and git): compute seconds, other wall times, and the
      project modules the process imported.

    The evaluate stage turns both into MLflow runs. If the body fails, the files it wrote in
    the output directory are removed, so no stage leaves a partial set of outputs."""
    args = _args()
    pipe = get_pipeline(pipeline or args.pipeline or _own_pipeline(name))
    spec = pipe.stage(name)
    params = pipe.load(os.environ.get("LEAKAUDIT_PARAMS", "params.yaml"))
    replicate = args.replicate
    if spec.per_replicate != (replicate is not None):
        raise SystemExit(f"stage {name!r} of {pipe.name!r}: --replicate is "
                         f"{'required' if spec.per_replicate else 'not accepted'}")
    if replicate is not None:
        params = params.for_replicate(replicate)
    ctx = StageRun(spec, params, params.audit_id(), pipe, replicate=replicate)
    if spec.torch:  # imported only by stages that need it (~1 s per process)
        from leakaudit.core.runtime import setup

        ctx.device = setup(params.base)
    before = set(ctx.out.iterdir())
    start = time.perf_counter()
    try:
        yield ctx
    except BaseException:
        for path in set(ctx.out.iterdir()) - before:
            if path.is_file():
                path.unlink()
        raise
    seconds = time.perf_counter() - start
    record: dict[str, Any] = {
        "stage": name, "replicate": replicate, "audit_id": ctx.audit_id,
        "device": str(ctx.device or "cpu"), "threads": params.base.threads,
        "metrics": {k: float(v) for k, v in ctx.metrics.items()},
        "params": (params.model_dump() if ALL_PARAMS in spec.params
                   else params.pick(spec.params)),
    }
    if spec.record:
        write_json(ctx.out / STAGE_RECORD, record)
    write_json(ctx.out / RUN_RECORD, {"stage": name, "replicate": replicate,
                                      "compute_seconds": round(seconds, 3), **ctx.timings,
                                      "modules": _project_modules()})
    label = name if replicate is None else f"{name}@{replicate}"
    print(f"[{label}] {seconds:.1f} s  {record['metrics']}")
