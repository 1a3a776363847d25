"""MLflow tracking, done once per audit by the `evaluate` stage, after its outputs are written.

Each executed audit becomes one parent run (tag ``audit_id`` = fingerprint of all non-tracking
params) with one nested run per stage and replicate, built from the stages' records (params,
metrics, compute time). Stages themselves never import MLflow: it costs ~1.7 s per process.

A tracking outage never hangs or loses an audit: requests time out after
``tracking.timeout_s`` with ``tracking.retries`` retries; by default the audit completes, its
``outputs/evaluate/mlflow.json`` records the failure, and ``python -m leakaudit.tracking
replay`` logs the same outputs later. ``tracking.required: true`` turns an unreachable store
into an immediate failure. The first creation of a sqlite store is serialised by a file lock
(two audits creating one store at once raced on its tables).

    python -m leakaudit.tracking replay     # log the audit in outputs/ (after an outage)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leakaudit.config import Params, TrackingParams
from leakaudit.layout import MODELS, OUT, PLOTS, REPLICATE_STAGES, read_record, replicate_dir
from leakaudit.store import WEIGHTS, model_dir, read_json, write_json
from leakaudit.utility import downstream_warning

MLFLOW_IDS = OUT / "evaluate" / "mlflow.json"  # run ids or the failure: not a DVC output

def audit_id(params: Params) -> str:
    """The audit's fingerprint (:meth:`leakaudit.config.AuditParams.audit_id`)."""
    return params.audit_id()


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
    tags = {"audit_id": aid, "kind": "audit", "git_commit": _git_commit(),
            "data.source": params.data.source}
    utility = {k.removeprefix("utility."): v for k, v in metrics.items()
               if k.startswith("utility.")}
    if warning := downstream_warning(utility, params.evaluate.min_downstream_gain):
        tags["warning"] = warning  # a degenerate finetuned model, visible in the runs list
    with mlflow.start_run(run_name=f"audit-{aid}", tags=tags) as parent:
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


def configure(t: TrackingParams) -> str:
    """Bound every request to a tracking server (MLflow reads these per request); return the
    resolved URI."""
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(max(1, round(t.timeout_s)))
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(t.retries)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "1"
    return resolve_uri(t.uri)


@contextmanager
def store_lock(uri: str):
    """Serialise access to a sqlite store's first creation (a lock file beside it)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        yield
        return
    from filelock import FileLock

    db = Path(uri[len(prefix):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=120):
        yield


def check_reachable(t: TrackingParams) -> None:
    """Fail fast when the tracking store cannot be reached (``tracking.required``)."""
    import mlflow

    uri = configure(t)
    try:
        with store_lock(uri):
            mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except Exception as err:
        raise RuntimeError(f"tracking.required: the MLflow store {uri} is unreachable "
                           f"({type(err).__name__}: {str(err)[:200]})") from None


def audit_outputs(params: Params) -> tuple[dict, dict, list[Path], Any]:
    """What an audit logs, read back from its outputs: stage records, flat metrics, artifacts
    and the metrics table."""
    import pandas as pd

    seeds = params.replicates.seeds
    records = {f"{st}@{r}": read_record(replicate_dir(OUT, r) / st)
               for r in seeds for st in REPLICATE_STAGES}
    flat = {k: v for k, v in flatten(read_json("metrics.json")).items() if v is not None}
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
    ids: dict[str, Any] = {"audit_id": audit_id(params), "status": "disabled"}
    if t.enabled:
        start = time.perf_counter()
        uri = configure(t)
        try:
            with store_lock(uri):
                ids = {"status": "logged", **log_audit(params, *audit_outputs(params))}
        except Exception as err:
            if t.required:
                raise
            ids = {"audit_id": audit_id(params), "status": "failed", "uri": uri,
                   "error": f"{type(err).__name__}: {str(err)[:300]}"}
            print(f"warning: MLflow tracking failed ({ids['error']}); the audit's outputs are "
                  "complete — log them later with `python -m leakaudit.tracking replay`",
                  file=sys.stderr)
        ids["tracking_seconds"] = round(time.perf_counter() - start, 3)
    write_json(MLFLOW_IDS, ids)
    return ids


def attach_to_run(t: TrackingParams, ids_file: Path, path: Path) -> str:
    """Attach ``path`` to the audit's MLflow run (its id in ``ids_file``, written by the
    evaluate stage); returns what happened. Never raises unless ``tracking.required``: the
    file is already written, and the run can get it later."""
    run = read_json(ids_file).get("mlflow_run_id") if ids_file.exists() else None
    if not t.enabled or not run:
        return "disabled" if not t.enabled else "no run to attach to"
    import mlflow

    uri = configure(t)
    try:
        with store_lock(uri):
            mlflow.MlflowClient(uri).log_artifact(run, str(path))
        return "logged"
    except Exception as err:
        if t.required:
            raise
        print(f"warning: could not attach {path} to MLflow run {run} "
              f"({type(err).__name__}: {str(err)[:200]})", file=sys.stderr)
        return "failed"


def main(argv: list[str] | None = None) -> None:
    """``replay``: log the audit whose outputs are in this directory (after an outage)."""
    import argparse

    from leakaudit.config import load_params

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
