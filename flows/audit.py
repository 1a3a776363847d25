"""The Prefect audit flow: any pipeline, with or without settings, as the Prefect UI's
custom-run form offers them (:class:`AuditRequest`). Run from the repository root.

Without settings it runs the pipeline's DVC stages as tasks (sharing DVC's cache with
`dvc repro`); with a preset, overrides or seeds it validates them first (a bad key fails the
run at once, with the same dotted-key message as params.yaml) and runs them as one DVC
experiment (`dvc exp run --temp --set-param …`: lineage kept, `dvc exp show` lists it, the
checkout's params.yaml is untouched). Either way it publishes the metrics table and a link to
the HTML report as artifacts.

    python -m flows.audit                               # the TMI audit, once
    python -m flows.audit --pipeline backdoor-vision    # another registered audit
    python -m flows.audit --preset fashion-mnist --set attack.tmi.epochs=40 --seeds 4 5
    python -m flows.audit --serve --cron "0 3 * * *"    # serve on a schedule (needs a server)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.dvc_tasks import dvc_stage, publish_metrics, publish_mlflow, publish_report
from flows.sweep import (
    experiment_rows,
    reproduce_shared,
    run_experiment,
    shared_stages,
    store_uri,
)
from leakaudit.core.html_report import REPORT
from leakaudit.core.registry import PIPELINES
from leakaudit.core.registry import get as get_pipeline
from leakaudit.core.settings import experiment_settings, merged_params, parse_sets, set_param_args
from leakaudit.core.tracking import MLFLOW_IDS

REPORTS = Path("reports")  # experiments' reports, extracted from their commits (not tracked)


class AuditRequest(BaseModel):
    """One audit run, as the Prefect UI's form (and the CLI) asks for it."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field("tmi", description=f"one of: {', '.join(PIPELINES)}")
    preset: str | None = Field(None, description="a presets/*.yaml applied to this run only")
    overrides: list[str] = Field(default_factory=list,
                                 description="params overrides, dotted.key=value")
    seeds: list[int] | None = Field(
        None, description="TMI: the replicates' seeds; backdoor audits: one base.seed")
    name: str | None = Field(None, description="the DVC experiment's name (default: a hash)")
    force: bool = Field(False, description="re-run stages even if up to date (no settings)")

    @field_validator("pipeline")
    @classmethod
    def _known(cls, v: str) -> str:
        get_pipeline(v)  # raises naming the allowed pipelines
        return v

    def settings(self) -> dict[str, Any]:
        """The dotted params this run sets, validated against the pipeline's params.yaml."""
        sets = parse_sets(self.overrides)
        if self.seeds is not None:
            sets |= get_pipeline(self.pipeline).seed_settings(self.seeds)
        return experiment_settings(self.pipeline, self.preset, sets)


def experiment_file(name: str, path: str) -> bytes:
    """A file as committed by experiment ``name`` (DVC keeps each experiment as a git ref)."""
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"],
                          capture_output=True, text=True, check=True).stdout.split()
    ref = next((r for r in refs if r.endswith(f"/{name}")), None)
    if ref is None:
        raise RuntimeError(f"experiment {name!r} not found among {len(refs)} experiment refs")
    return subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True,
                          check=True).stdout


def run_settings(pipe: Any, settings: dict[str, Any], name: str | None) -> dict:
    """Run the settings as one temporary DVC experiment; publish its metrics and report."""
    from prefect.artifacts import create_table_artifact

    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    name = name or f"{pipe.name}-{hashlib.sha256(blob).hexdigest()[:8]}"
    cwd = Path(pipe.folder)
    base_rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    tracking = pipe.load(pipe.params_file()).tracking
    reproduce_shared(shared_stages(cwd / "dvc.yaml", list(settings)), str(cwd))
    run_experiment(name, set_param_args(settings), store_uri(tracking.uri, cwd), str(cwd))
    row = next(r for r in experiment_rows(base_rev, cwd, pipe.metrics_file)
               if r.get("Experiment") == name)
    metrics = {k: v for k, v in row.items() if isinstance(v, int | float)
               and k.removesuffix("_unreliable").endswith(("auc", "auc_low", "auc_high",
                                                          "tpr_at_1pct_fpr", "ratio"))}
    create_table_artifact(key=f"{pipe.name}-experiment-metrics",
                          table=[{"metric": k, "value": v} for k, v in metrics.items()],
                          description=f"DVC experiment {name}: {json.dumps(settings)[:500]}")
    report = REPORTS / f"{name}.html"
    report.parent.mkdir(exist_ok=True)
    report.write_bytes(experiment_file(name, (cwd / REPORT).as_posix()))
    audit = pipe.params.model_validate(merged_params(pipe.name, settings)).audit_id()
    return {"experiment": name, "metrics": metrics,
            "report": publish_report(pipe.name, report),
            "mlflow": publish_mlflow(pipe.name, store_uri(tracking.uri, cwd),
                                     tracking.experiment, audit)}


@flow(name="audit", log_prints=True, validate_parameters=True)
def audit(request: AuditRequest | None = None, stages: list[str] | None = None) -> dict:
    """Run one audit (see the module docstring); returns its metrics and the report's URL."""
    request = request or AuditRequest()
    pipe = get_pipeline(request.pipeline)
    settings = request.settings()  # a bad key fails here, before anything runs
    if settings:
        return run_settings(pipe, settings, request.name)
    params = pipe.load(pipe.params_file())
    for name in stages or pipe.dvc_stages(params):
        dvc_stage(name, force=request.force)
    metrics = publish_metrics(f"{pipe.name}-audit-metrics", pipe.name)
    ids_file = Path(pipe.folder) / MLFLOW_IDS
    ids = json.loads(ids_file.read_text()) if ids_file.exists() else {}
    return {"metrics": metrics, "report": publish_report(pipe.name, Path(pipe.folder) / REPORT),
            "mlflow": publish_mlflow(pipe.name, store_uri(params.tracking.uri, Path(pipe.folder)),
                                     params.tracking.experiment,
                                     ids.get("audit_id", params.audit_id()),
                                     ids.get("mlflow_run_id"))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), default="tmi")
    ap.add_argument("--preset")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--seeds", type=int, nargs="+")
    ap.add_argument("--name", help="the DVC experiment's name (with settings)")
    ap.add_argument("--serve", action="store_true", help="serve as a deployment (needs a server)")
    ap.add_argument("--cron", default=None, help="cron schedule when serving")
    ap.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    args = ap.parse_args(argv)
    request = AuditRequest(pipeline=args.pipeline, preset=args.preset, overrides=args.set,
                           seeds=args.seeds, name=args.name, force=args.force)
    if args.serve:
        audit.serve(name=f"{args.pipeline}-audit", cron=args.cron,
                    parameters={"request": request.model_dump()})
    else:
        print(f"report: {audit(request)['report']}")


if __name__ == "__main__":
    main()
