"""Prefect tasks that run DVC stages (DVC decides what is up to date) and publish results.

DVC runs in-process through its Python API (one import per flow instead of one `dvc` process
per stage, ~0.7 s each); the stage commands' output and DVC's own messages are forwarded into
the Prefect task's log, so the UI shows each stage's log.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact

from flows.output_capture import forward_output


def _api_only_logger(extra: dict) -> logging.LoggerAdapter:
    """A logger that sends records to the Prefect API only: the console already gets the
    forwarded lines, and a console handler would write back into the captured pipe."""
    from prefect.logging.handlers import APILogHandler

    base = logging.getLogger("leakaudit.stage_output")
    base.propagate = False
    base.setLevel(logging.INFO)
    if not any(isinstance(h, APILogHandler) for h in base.handlers):
        base.addHandler(APILogHandler())
    return logging.LoggerAdapter(base, extra)


def ensure_env() -> None:
    """Stage commands call `python`: make it this interpreter's environment."""
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


@task(name="dvc-stage", task_run_name="{name}")
def dvc_stage(name: str, force: bool = False) -> list[str]:
    """`dvc repro --single-item <name>` in-process; returns the stages DVC actually ran."""
    from dvc.repo import Repo

    ensure_env()
    out = _api_only_logger(dict(get_run_logger().extra))
    # DVC prints through its own stdout handlers (captured below); no second copy via root
    logging.getLogger("dvc").propagate = False
    with forward_output(out.info), Repo(".") as repo:
        ran = repo.reproduce(name, single_item=True, force=force)
    names = [s.addressing for s in ran]
    get_run_logger().info(f"stage {name}: {'ran' if names else 'up to date, skipped'}")
    return names


@task(name="publish-metrics")
def publish_metrics(key: str, pipeline: str) -> dict:
    """Publish the pipeline's headline metrics rows as a Prefect table artifact and return
    them as a dict."""
    from leakaudit.core.registry import get as get_pipeline
    from leakaudit.core.tables import read_table

    pipe = get_pipeline(pipeline)
    table = pipe.headline_rows(read_table(pipe.path("metrics", root=Path(pipe.folder)),
                                          pipe.table("metrics").schema))
    rows = [{k: ((None if v != v else round(v, 4)) if isinstance(v, float) else v)
             for k, v in r.items()} for r in table.to_dict("records")]
    create_table_artifact(key=key, table=rows, description="Audit metrics with 95% intervals")
    # backdoor audits: non-target candidates' rows are prefixed to keep keys unique
    return {("non_targets/" if r.get("candidates") == "non_targets" else "")
            + f"{r['attack']}.{r['metric']}": r["value"] for r in rows}


@task(name="publish-report")
def publish_report(pipeline: str, path: Path) -> str:
    """Publish the audit's HTML report as a Prefect link artifact (a file URL: the report is
    one self-contained file on the machine that ran the flow)."""
    uri = Path(path).resolve().as_uri()
    create_link_artifact(key=f"{pipeline}-audit-report", link=uri, link_text=f"{pipeline} report",
                         description="The audit's self-contained HTML report")
    return uri


@task(name="publish-mlflow")
def publish_mlflow(pipeline: str, uri: str, experiment: str, audit_id: str,
                   run_id: str | None = None) -> str:
    """Publish where the audit's MLflow record is, as a markdown artifact: its run (linked
    when the tracking URI is a server), or the filter that finds it by its ``audit_id`` tag."""
    from prefect.artifacts import create_markdown_artifact

    where = f"MLflow store `{uri}`, experiment `{experiment}`"
    if run_id and uri.startswith(("http://", "https://")):
        where += f", run [{run_id}]({uri.rstrip('/')}/#/runs/{run_id})"
    elif run_id:
        where += f", run `{run_id}`"
    text = f"{where}; its runs carry the tag `audit_id = '{audit_id}'`."
    create_markdown_artifact(key=f"{pipeline}-audit-mlflow", markdown=text,
                             description="Where the audit's MLflow record is")
    return text

