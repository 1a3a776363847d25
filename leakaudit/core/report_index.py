"""The index of every audit and sweep in the repository (``reports/index.html``, written on
demand by ``leakaudit report --index``, not tracked): each pipeline's report, its last MLflow
run (linked when the tracking URI is a server), every sweep table with its plot inlined, and
the git commit of the working tree — what a DVC-tracked report cannot hold."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from leakaudit.core.html_report import REPORT, STYLE, esc, table
from leakaudit.core.layout import OUT
from leakaudit.core.registry import PIPELINES, ROOT
from leakaudit.core.store import atomic_path


def mlflow_link(uri: str, run: str) -> str:
    """The run id, linked to the MLflow UI when the tracking URI is a server."""
    if not uri.startswith(("http://", "https://")):
        return f"<code>{esc(run)}</code> <small>({esc(uri)})</small>"
    try:
        import mlflow

        experiment = mlflow.MlflowClient(uri).get_run(run).info.experiment_id
    except Exception:  # the server is down: show the id unlinked
        return f"<code>{esc(run)}</code>"
    url = f"{uri.rstrip('/')}/#/experiments/{experiment}/runs/{run}"
    return f'<a href="{esc(url)}"><code>{esc(run)}</code></a>'


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{esc(path.stem)}" src="data:image/png;base64,{data}" width="520">'


def index_html(root: Path = ROOT, at: Path | None = None) -> str:
    """Every audit found under ``root``: its report (linked relative to ``at``, the index's
    directory), MLflow run and sweeps (plots inlined), and the git commit of the tree."""
    at = at or root
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    parts = ["<h1>leakaudit: audits in this repository</h1>",
             f"<p>git commit <code>{esc(_git('rev-parse', 'HEAD') or 'unknown')}</code>"
             f"{dirty}</p>"]
    rows = []
    for pipe in PIPELINES.values():
        folder = root / pipe.folder
        report = folder / REPORT
        ids = folder / OUT / "evaluate" / "mlflow.json"
        run = json.loads(ids.read_text()).get("mlflow_run_id") if ids.exists() else None
        params = folder / "params.yaml"
        raw = yaml.safe_load(params.read_text()) if params.exists() else None
        tracking = (raw or {}).get("tracking") or {}
        uri = os.environ.get("LEAKAUDIT_MLFLOW_URI", tracking.get("uri", ""))
        rel = Path(os.path.relpath(report, at)).as_posix()
        rows.append([f"<code>{esc(pipe.name)}</code>",
                     f'<a href="{esc(rel)}">{esc(rel)}</a>' if report.exists()
                     else "not run yet", mlflow_link(uri, run) if run else "–"])
    parts += ["<h2>Audits</h2>", table(["pipeline", "report", "MLflow run"], rows)]
    for pipe in PIPELINES.values():
        tables = sorted((root / pipe.folder / "sweeps" / "tables").glob("*.csv"))
        for csv in tables:
            df = pd.read_csv(csv)
            plot = csv.parent.parent / "plots" / f"{csv.stem}.png"
            parts += [f"<h2>Sweep: <code>{esc(pipe.name)}</code> over "
                      f"<code>{esc(csv.stem)}</code></h2>",
                      table(list(map(esc, df.columns)), [[esc(v) for v in r]
                                                          for r in df.itertuples(index=False)]),
                      _png(plot) if plot.exists() else ""]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>leakaudit '
            f"audits</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_index(root: Path = ROOT, path: Path | None = None) -> Path:
    """Write the index page (default ``root/reports/index.html``, not tracked)."""
    path = path or root / "reports" / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = index_html(root, path.parent)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
