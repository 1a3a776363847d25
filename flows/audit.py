"""The Prefect audit flow: any pipeline's DVC stages as tasks (shares DVC's cache with
`dvc repro`), then its metrics table as an artifact. Run from the repository root.

    python -m flows.audit                               # the TMI audit, once
    python -m flows.audit --pipeline backdoor           # the language-model privacy backdoor
    python -m flows.audit --pipeline backdoor-vision    # the vision privacy backdoor
    python -m flows.audit --serve --cron "0 3 * * *"    # serve on a schedule (needs a server)
"""

from __future__ import annotations

import argparse

from prefect import flow

from flows.dvc_tasks import dvc_stage, publish_metrics
from leakaudit.pipelines import PIPELINES
from leakaudit.pipelines import get as get_pipeline


@flow(name="audit", log_prints=True)
def audit(pipeline: str = "tmi", stages: list[str] | None = None, force: bool = False) -> dict:
    """Run the pipeline's stages in order through DVC (for TMI: the params check, each
    replicate's stages, then the pooled evaluation); publish its metrics table."""
    pipe = get_pipeline(pipeline)
    params = pipe.load(pipe.params_file())
    for name in stages or pipe.dvc_stages(params):
        dvc_stage(name, force=force)
    folder = "" if pipe.folder == "." else f"{pipe.folder}/"
    return publish_metrics(f"{pipe.name}-audit-metrics",
                           f"{folder}outputs/evaluate/metrics.parquet", pipe.metrics_table)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), default="tmi")
    ap.add_argument("--serve", action="store_true", help="serve as a deployment (needs a server)")
    ap.add_argument("--cron", default=None, help="cron schedule when serving")
    ap.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    args = ap.parse_args(argv)
    parameters = {"pipeline": args.pipeline, "force": args.force}
    if args.serve:
        audit.serve(name=f"{args.pipeline}-audit", cron=args.cron, parameters=parameters)
    else:
        audit(**parameters)


if __name__ == "__main__":
    main()
