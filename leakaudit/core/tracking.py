"""MLflow tracking shared by every audit: the store's URI, bounded requests, the creation lock,
the reachability check and attaching a file to an audit's run. Each family logs its own runs
(:mod:`leakaudit.tmi.tracking`, :mod:`leakaudit.backdoor.tracking`), once per audit in its
`evaluate` stage, after its outputs are written; stages themselves never import MLflow (it costs
~1.7 s per process).

A tracking outage never hangs or loses an audit: requests time out after
``tracking.timeout_s`` with ``tracking.retries`` retries; by default the audit completes, its
``outputs/evaluate/mlflow.json`` records the failure, and ``python -m leakaudit.tmi.tracking
replay`` logs the same outputs later. ``tracking.required: true`` turns an unreachable store
into an immediate failure. The first creation of a sqlite store is serialised by a file lock
(two audits creating one store at once raced on its tables).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leakaudit.core.layout import OUT
from leakaudit.core.params import TrackingParams
from leakaudit.core.store import read_json

MLFLOW_IDS = OUT / "evaluate" / "mlflow.json"  # run ids or the failure: not a DVC output

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


def git_commit() -> str:
    """The checkout's commit (empty outside git)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=repo_root()).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


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
