"""Prefect flow running the TMI audit's DVC stages as tasks (shares DVC's cache with `dvc repro`).

    python -m flows.tmi                      # run once (ephemeral Prefect or PREFECT_API_URL)
    python -m flows.tmi --serve --cron "0 3 * * *"   # serve on a schedule
"""

from __future__ import annotations

from prefect import flow

from flows.dvc_tasks import STAGES, dvc_stage, flow_cli, publish_metrics


@flow(name="tmi-audit", log_prints=True)
def tmi_audit(stages: list[str] | None = None, force: bool = False) -> dict:
    """Run the TMI stages in order through DVC; publish the metrics table as an artifact."""
    for name in stages or STAGES["tmi"]:
        dvc_stage(name, force=force)
    return publish_metrics("tmi-audit-metrics")


def main(argv: list[str] | None = None) -> None:
    flow_cli(tmi_audit, "tmi-audit", argv, __doc__)


if __name__ == "__main__":
    main()
