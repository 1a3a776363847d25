"""Prefect flow running the privacy-backdoor audit's DVC stages (`backdoor/dvc.yaml`) as tasks;
shares DVC's cache with `cd backdoor && dvc repro`. Run from the repo root.

    python -m flows.backdoor                 # run once
    python -m flows.backdoor --serve --cron "0 4 * * 0"
"""

from __future__ import annotations

from prefect import flow

from flows.dvc_tasks import STAGES, dvc_stage, flow_cli, publish_metrics


@flow(name="privacy-backdoor-audit", log_prints=True)
def backdoor_audit(force: bool = False) -> dict:
    """Run the backdoor stages in order through DVC; publish the metrics table."""
    for name in STAGES["backdoor"]:
        dvc_stage(name, force=force)
    return publish_metrics("privacy-backdoor-metrics", "backdoor/outputs/evaluate/metrics.parquet")


def main(argv: list[str] | None = None) -> None:
    flow_cli(backdoor_audit, "privacy-backdoor-audit", argv, __doc__)


if __name__ == "__main__":
    main()
