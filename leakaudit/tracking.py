"""MLflow tracking, done once per audit by the `evaluate` stage.

Each executed audit becomes one parent run (tag ``audit_id`` = fingerprint of all non-tracking
params) with one nested run per stage, built from the stages' ``stage.json`` records (their
params, metrics and compute time). Stages themselves never import MLflow: it costs ~1.7 s per
process, which would dominate the orchestration overhead of a few-minute audit. Every stage
output carries the ``audit_id``; the evaluate outputs carry the run ids.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from leakaudit.config import Params

AUDIT_SECTIONS = ("replicates", "base", "data", "model", "prepare", "pretrain", "finetune",
                  "query", "attack", "evaluate")


def audit_id(params: Params) -> str:
    """The audit's fingerprint: a hash of every section except tracking."""
    return params.section_hash(*AUDIT_SECTIONS)


def repo_root() -> Path:
    """The directory holding dvc.yaml (stages run there), else the current directory."""
    here = Path.cwd()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").exists():
            return d
    return here


def resolve_uri(uri: str) -> str:
    """Resolve a relative sqlite path against the repo root; ``LEAKAUDIT_MLFLOW_URI`` overrides."""
    uri = os.environ.get("LEAKAUDIT_MLFLOW_URI", uri)
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix):].startswith("/"):
        return prefix + str(repo_root() / uri[len(prefix):])
    return uri


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} → {'a.b': 1}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= flatten(v, key + ".")
        else:
            out[key] = v
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=repo_root()).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


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
    aid = audit_id(params)
    client = mlflow.MlflowClient()
    ids: dict[str, Any] = {"audit_id": aid, "stages": {}}
    with mlflow.start_run(run_name=f"audit-{aid}", tags={
        "audit_id": aid, "kind": "audit", "git_commit": _git_commit(),
        "data.source": params.data.source,
    }) as parent:
        ids["mlflow_run_id"] = parent.info.run_id
        mlflow.log_params(flatten(params.model_dump(include=set(AUDIT_SECTIONS))))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for name, rec in records.items():
            with mlflow.start_run(run_name=name, nested=True, tags={
                "stage": name, "audit_id": rec.get("audit_id", aid),
            }) as child:
                stage_metrics = {**rec.get("metrics", {}),
                                 "compute_seconds": rec["compute_seconds"]}
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
