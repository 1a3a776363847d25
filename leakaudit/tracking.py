"""MLflow tracking: one parent run per audit (a fingerprint of all params), one nested run per
stage execution. Stage outputs record both run ids, linking DVC lineage to MLflow."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from leakaudit.config import Params


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


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=repo_root()).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


class Tracker:
    """Opens (or reuses) the audit's parent run and logs a nested run for one stage."""

    def __init__(self, params: Params, stage: str, audit_sections: tuple[str, ...]) -> None:
        self.params = params
        self.stage = stage
        self.enabled = params.tracking.enabled
        self.audit_id = params.section_hash(*audit_sections)
        self.parent_id: str | None = None
        self.run_id: str | None = None
        if not self.enabled:
            return
        import mlflow

        self._mlflow = mlflow
        mlflow.set_tracking_uri(resolve_uri(params.tracking.uri))
        exp = mlflow.set_experiment(params.tracking.experiment)
        found = mlflow.search_runs(
            [exp.experiment_id], filter_string=f"tags.audit_id = '{self.audit_id}' and "
            "tags.kind = 'audit'", max_results=1, output_format="list",
        )
        if found:
            self.parent_id = found[0].info.run_id
        else:
            with mlflow.start_run(run_name=f"audit-{self.audit_id}", tags={
                "audit_id": self.audit_id, "kind": "audit", "git_commit": _git_commit() or "",
            }) as run:
                self.parent_id = run.info.run_id
                mlflow.log_params(flatten(params.model_dump(include=set(audit_sections))))
        with mlflow.start_run(run_id=self.parent_id):
            with mlflow.start_run(run_name=stage, nested=True,
                                  tags={"stage": stage, "audit_id": self.audit_id}) as run:
                self.run_id = run.info.run_id

    def ids(self) -> dict[str, str | None]:
        return {"audit_id": self.audit_id, "mlflow_parent_run_id": self.parent_id,
                "mlflow_stage_run_id": self.run_id}

    def log_stage(self, params: dict[str, Any], metrics: dict[str, float]) -> None:
        """Log the stage's own params and metrics on its nested run."""
        if not self.enabled:
            return
        client = self._mlflow.MlflowClient()
        from mlflow.entities import Metric, Param

        client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)[:6000]) for k, v in flatten(params).items()],
        )
        client.set_terminated(self.run_id)

    def log_audit(self, metrics: dict[str, float], artifacts: list[Path],
                  table: Any | None = None) -> None:
        """Log the audit's final metrics, files and metrics table on the parent run."""
        if not self.enabled:
            return
        mlflow = self._mlflow
        with mlflow.start_run(run_id=self.parent_id):
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            for path in artifacts:
                mlflow.log_artifact(str(path))
            if table is not None:
                mlflow.log_table(table, "metrics_table.json")
