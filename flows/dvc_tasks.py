"""Prefect tasks that run DVC stages (so DVC decides what is up to date) and publish results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

STAGES = {"tmi": ["prepare", "pretrain", "finetune", "query", "attack", "evaluate"]}


def _dvc() -> list[str]:
    """DVC from this interpreter's environment, so stages see the same Python."""
    return [sys.executable, "-m", "dvc"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@task(name="dvc-stage", task_run_name="{name}")
def dvc_stage(name: str, force: bool = False) -> None:
    """`dvc repro --single-item <name>`: a no-op when DVC finds the stage up to date."""
    logger = get_run_logger()
    cmd = [*_dvc(), "repro", "--single-item", name] + (["--force"] if force else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_env())
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line and "it/s]" not in line and "model/s]" not in line:
            logger.info(line)
    if proc.wait():
        raise RuntimeError(f"dvc stage {name!r} failed (exit {proc.returncode}); see the log")


@task(name="publish-metrics")
def publish_metrics(key: str, path: str = "outputs/evaluate/metrics.parquet") -> dict:
    """Publish the metrics table as a Prefect table artifact and return it as a dict."""
    from leakaudit.tables import read_table

    table = read_table(path, "metrics")
    rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in table.to_dict("records")]
    create_table_artifact(key=key, table=rows, description="Audit metrics with 95% intervals")
    return {f"{r['attack']}.{r['metric']}": r["value"] for r in rows}
