"""What every stage shares: validated params, device, timing, and its ``stage.json`` record.

A TMI stage that runs once per replicate is called with ``--replicate <seed>``: its params are
then that replicate's (:meth:`leakaudit.config.Params.for_replicate`) and its files live under
``outputs/replicates/seed-<seed>/`` and ``models/replicates/seed-<seed>/``.
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

from leakaudit.config import AuditParams
from leakaudit.layout import MODELS, OUT, RUN_RECORD, STAGE_RECORD, replicate_dir
from leakaudit.pipelines import Pipeline
from leakaudit.pipelines import get as get_pipeline
from leakaudit.store import write_json
from leakaudit.tables import read_table, write_table


@dataclass
class Stage:
    name: str
    params: AuditParams  # the pipeline's params (TMI: this replicate's)
    audit_id: str
    pipeline: Pipeline  # its tables are read and written by name
    device: Any = None  # torch.device when the stage asked for one
    metrics: dict[str, float] = field(default_factory=dict)  # deterministic: in stage.json
    timings: dict[str, Any] = field(default_factory=dict)  # wall times: in run.json only
    replicate: int | None = None  # the replicate's seed, for per-replicate stages

    def outputs(self, replicate: int | None = None) -> Path:
        """The outputs directory of a replicate (default: this stage's; none: the audit's)."""
        replicate = self.replicate if replicate is None else replicate
        return OUT if replicate is None else replicate_dir(OUT, replicate)

    def inputs(self, stage: str) -> Path:
        """The output directory of ``stage`` (of this stage's replicate, if any)."""
        return self.outputs() / stage

    def path(self, table: str, replicate: int | None = None, **fields: str) -> Path:
        """The file of one of the pipeline's tables (of ``replicate``, default this stage's);
        ``fields`` fill its file name (e.g. ``view=``)."""
        return self.pipeline.tables[table].path(self.outputs(replicate), **fields)

    def read(self, table: str, replicate: int | None = None, **fields: str) -> pd.DataFrame:
        """Read and validate one of the pipeline's tables (see :meth:`path`)."""
        return read_table(self.path(table, replicate, **fields),
                          self.pipeline.tables[table].schema)

    def write(self, table: str, df: pd.DataFrame, **fields: str) -> None:
        """Validate and atomically write one of this stage's tables, tagged with the audit id."""
        t = self.pipeline.tables[table]
        if t.stage != self.name:
            raise ValueError(f"stage {self.name!r} cannot write table {table!r} (stage "
                             f"{t.stage!r} owns it)")
        self.out.mkdir(parents=True, exist_ok=True)
        write_table(df, self.path(table, **fields), t.schema, audit_id=self.audit_id)

    def models(self, kind: str) -> Path:
        """The model directories of ``kind`` (pretrain / finetune) of this replicate."""
        return (MODELS if self.replicate is None else replicate_dir(MODELS, self.replicate)) / kind

    @property
    def out(self) -> Path:
        d = self.inputs(self.name)
        d.mkdir(parents=True, exist_ok=True)
        return d


def _replicate_arg() -> int | None:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--replicate", type=int, default=None)
    return ap.parse_known_args(sys.argv[1:])[0].replicate


def _pipeline_arg() -> str | None:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--pipeline", default=None)
    return ap.parse_known_args(sys.argv[1:])[0].pipeline


@contextmanager
def stage(name: str, sections: tuple[str, ...], torch: bool = True,
          pipeline: str | None = None) -> Iterator[Stage]:
    """Run a stage body and record it in two files beside its outputs:

    - ``stage.json`` (a DVC output): the audit id, its params, deterministic metrics — the
      same bytes for the same inputs, so identical runs give an identical ``dvc.lock``;
    - ``run.json`` (ignored by DVC and git): compute seconds and other wall times.

    The evaluate stage turns both into MLflow runs. If the body fails, the files it wrote in
    the output directory are removed, so no stage leaves a partial set of outputs.
    ``pipeline`` names the audit (:mod:`leakaudit.pipelines`) whose params the stage reads
    (default: the ``--pipeline`` argument, else TMI)."""
    pipe = get_pipeline(pipeline or _pipeline_arg() or "tmi")
    params = pipe.load(os.environ.get("LEAKAUDIT_PARAMS", "params.yaml"))
    replicate = _replicate_arg()
    if replicate is not None:
        params = params.for_replicate(replicate)
    ctx = Stage(name, params, params.audit_id(), pipe, replicate=replicate)
    if torch:  # imported only by stages that need it (~1 s per process)
        from leakaudit.runtime import setup

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
        "params": params.model_dump(include=set(sections)),
    }
    write_json(ctx.out / STAGE_RECORD, record)
    write_json(ctx.out / RUN_RECORD, {"stage": name, "replicate": replicate,
                                      "compute_seconds": round(seconds, 3), **ctx.timings})
    label = name if replicate is None else f"{name}@{replicate}"
    print(f"[{label}] {seconds:.1f} s  {record['metrics']}")

