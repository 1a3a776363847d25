"""Prefect flow running the TMI audit's DVC stages as tasks (shares DVC's cache with `dvc repro`).

    python -m flows.tmi                      # run once (ephemeral Prefect or PREFECT_API_URL)
    python -m flows.tmi --serve --cron "0 3 * * *"   # serve on a schedule
"""

from __future__ import annotations

from prefect import flow

from flows.dvc_tasks import dvc_stage, flow_cli, publish_metrics, tmi_stages


@flow(name="tmi-audit", log_prints=True)
def tmi_audit(stages: list[str] | None = None, force: bool = False) -> dict:
    """Run the TMI stages in order through DVC (each replicate's, then the pooled evaluation);
    publish the metrics table as an artifact."""
    from leakaudit.config import load_params

    for name in stages or tmi_stages(load_params().replicates.seeds):
        dvc_stage(name, force=force)
    return publish_metrics("tmi-audit-metrics", table_name="audit_metrics")


def main(argv: list[str] | None = None) -> None:
    flow_cli(tmi_audit, "tmi-audit", argv, __doc__)


if __name__ == "__main__":
    main()
