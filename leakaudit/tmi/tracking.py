"""MLflow record of a TMI audit, done once by its `evaluate` stage after every output is
written: one parent run (tag ``audit_id`` = fingerprint of all audited params; a degenerate
finetuned model shows as tag ``warning``) with one nested run per stage and replicate, built
from the stages' records (params, metrics, compute time).

    python -m leakaudit.tmi.tracking replay     # log the audit in outputs/ (after an outage)
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from leakaudit.core.layout import MODELS, OUT, PLOTS, read_record, replicate_dir
from leakaudit.core.store import WEIGHTS, model_dir, read_json, write_json
from leakaudit.core.tracking import (
    MLFLOW_IDS,
    configure,
    flatten,
    git_commit,
    resolve_uri,
    store_lock,
)
from leakaudit.tmi.params import Params
from leakaudit.tmi.pipeline import PIPELINE
from leakaudit.tmi.utility import downstream_warning


def log_audit(
    params: Params, records: dict[str, dict[str, Any]], metrics: dict[str, float],
    artifacts: list[Path], table: Any | None = None,
) -> dict[str, Any]:
    """Log one audit: parent run (params, final metrics, artifacts, metrics table) and a nested
    run per stage record. Returns the run ids."""
    import mlflow
    from mlflow.entities import Metric, Param

    mlflow.set_tracking_uri(resolve_uri(params.tracking.uri))
    mlflow.set_experiment(params.tracking.experiment)
    aid = params.audit_id()
    client = mlflow.MlflowClient()
    ids: dict[str, Any] = {"audit_id": aid, "stages": {}}
    tags = {"audit_id": aid, "kind": "audit", "git_commit": git_commit(),
            "data.source": params.data.source}
    utility = {k.removeprefix("utility."): v for k, v in metrics.items()
               if k.startswith("utility.")}
    if warning := downstream_warning(utility, params.evaluate.min_downstream_gain):
        tags["warning"] = warning  # a degenerate finetuned model, visible in the runs list
    verdict = read_json("metrics.json").get("verdict") if Path("metrics.json").exists() else None
    with mlflow.start_run(run_name=f"audit-{aid}", tags=tags, description=verdict) as parent:
        ids["mlflow_run_id"] = parent.info.run_id
        mlflow.log_params(flatten(params.model_dump(exclude=set(params.NOT_AUDITED))))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for name, rec in records.items():
            with mlflow.start_run(run_name=name, nested=True, tags={
                "stage": name, "audit_id": rec.get("audit_id", aid),
            }) as child:
                stage_metrics = {**rec.get("metrics", {}),
                                 "compute_seconds": rec.get("compute_seconds", float("nan"))}
                client.log_batch(
                    child.info.run_id,
                    metrics=[Metric(k, float(v), 0, 0) for k, v in stage_metrics.items()],
                    params=[Param(k, str(v)[:6000])
                            for k, v in flatten(rec.get("params", {})).items()],
                )
                ids["stages"][name] = child.info.run_id
        for path in artifacts:
            mlflow.log_artifact(str(path))
        if table is not None:
            mlflow.log_table(table, "metrics_table.json")
    return ids


def audit_outputs(params: Params) -> tuple[dict, dict, list[Path], Any]:
    """What an audit logs, read back from its outputs: stage records, flat metrics, artifacts
    and the metrics table."""
    import pandas as pd

    seeds = params.replicates.seeds
    records = {f"{st.name}@{r}": read_record(replicate_dir(OUT, r) / st.name)
               for r in seeds for st in PIPELINE.stages if st.per_replicate}
    summary = read_json("metrics.json")
    flat = {k: v for k, v in flatten(summary).items()  # numbers only: no verdict, no "inf"
            if isinstance(v, int | float) and math.isfinite(v)}
    artifacts = [PLOTS / "roc.png", PLOTS / "roc.csv", Path("metrics.json")]
    table = pd.read_parquet(OUT / "evaluate" / "metrics.parquet")
    if params.tracking.log_weights:
        victim = int(pd.read_parquet(replicate_dir(OUT, seeds[0]) / "attack/scores.parquet",
                                     columns=["victim_id"]).victim_id.min())
        artifacts.append(model_dir(replicate_dir(MODELS, seeds[0]) / "finetune", victim)
                         / WEIGHTS)
    return records, flat, artifacts, table


def publish_audit(params: Params) -> dict[str, Any]:
    """Log the audit in ``outputs/`` to MLflow and write ``outputs/evaluate/mlflow.json``:
    the run ids, or ``status: failed`` with the error (then the audit still counts as done;
    :func:`main`'s ``replay`` logs it later). Raises if ``tracking.required``."""
    t = params.tracking
    ids: dict[str, Any] = {"audit_id": params.audit_id(), "status": "disabled"}
    if t.enabled:
        start = time.perf_counter()
        uri = configure(t)
        try:
            with store_lock(uri):
                ids = {"status": "logged", **log_audit(params, *audit_outputs(params))}
        except Exception as err:
            if t.required:
                raise
            ids = {"audit_id": params.audit_id(), "status": "failed", "uri": uri,
                   "error": f"{type(err).__name__}: {str(err)[:300]}"}
            print(f"warning: MLflow tracking failed ({ids['error']}); the audit's outputs are "
                  "complete — log them later with `python -m leakaudit.tmi.tracking replay`",
                  file=sys.stderr)
        ids["tracking_seconds"] = round(time.perf_counter() - start, 3)
    write_json(MLFLOW_IDS, ids)
    return ids


def main(argv: list[str] | None = None) -> None:
    """``replay``: log the audit whose outputs are in this directory (after an outage)."""
    import argparse

    from leakaudit.tmi.params import load_params

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("command", choices=["replay"])
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    ids = publish_audit(params.model_copy(update={
        "tracking": params.tracking.model_copy(update={"enabled": True, "required": True})}))
    print(f"logged audit {ids['audit_id']}: run {ids['mlflow_run_id']}")


if __name__ == "__main__":
    main()
