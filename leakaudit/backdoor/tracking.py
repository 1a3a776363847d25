"""MLflow record of a backdoor audit: one parent run, a nested run per arm, the ROC plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leakaudit.core.params import Section
from leakaudit.core.tracking import flatten, resolve_uri


def log_backdoor(p: Section, aid: str, metrics: dict[str, float], arm_metrics: dict[str, dict],
                 artifacts: list[Path], kind: str = "backdoor") -> dict[str, Any]:
    """Log the audit (params, every metric, artifacts) and each arm side by side; ``p`` is
    the language-model or the vision audit's params, ``aid`` its audit id."""
    import mlflow

    mlflow.set_tracking_uri(resolve_uri(p.tracking.uri))
    mlflow.set_experiment(p.tracking.experiment)
    ids: dict[str, Any] = {"audit_id": aid, "arms": {}}
    summary = Path("metrics.json")
    verdict = json.loads(summary.read_text()).get("verdict") if summary.exists() else None
    with mlflow.start_run(run_name=f"{kind}-{aid}", tags={"audit_id": aid, "kind": kind},
                          description=verdict) as parent:
        ids["mlflow_run_id"] = parent.info.run_id
        mlflow.log_params(flatten(p.model_dump(exclude={"tracking"})))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        for arm, values in arm_metrics.items():
            with mlflow.start_run(run_name=arm, nested=True,
                                  tags={"arm": arm, "audit_id": aid, "kind": f"{kind}-arm"},
                                  ) as child:
                mlflow.log_metrics({k: float(v) for k, v in values.items()})
                ids["arms"][arm] = child.info.run_id
    return ids
