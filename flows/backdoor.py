"""Prefect flow running the privacy-backdoor audit's DVC stages (`backdoor/dvc.yaml`, or
`backdoor-vision/dvc.yaml` with ``--vision``) as tasks; shares DVC's cache with
`cd backdoor && dvc repro`. Run from the repo root.

    python -m flows.backdoor                 # run once (language model)
    python -m flows.backdoor --vision        # the vision audit (Fashion-MNIST, small CNN)
    python -m flows.backdoor --serve --cron "0 4 * * 0"
"""

from __future__ import annotations

import sys

from prefect import flow

from flows.dvc_tasks import STAGES, dvc_stage, flow_cli, publish_metrics


@flow(name="privacy-backdoor-audit", log_prints=True)
def backdoor_audit(force: bool = False) -> dict:
    """Run the backdoor stages in order through DVC; publish the metrics table."""
    for name in STAGES["backdoor"]:
        dvc_stage(name, force=force)
    return publish_metrics("privacy-backdoor-metrics", "backdoor/outputs/evaluate/metrics.parquet")


@flow(name="privacy-backdoor-vision-audit", log_prints=True)
def backdoor_vision_audit(force: bool = False) -> dict:
    """The vision audit's stages in order through DVC; publish the metrics table."""
    for name in STAGES["backdoor-vision"]:
        dvc_stage(name, force=force)
    return publish_metrics("privacy-backdoor-vision-metrics",
                           "backdoor-vision/outputs/evaluate/metrics.parquet")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--vision" in argv:
        argv.remove("--vision")
        flow_cli(backdoor_vision_audit, "privacy-backdoor-vision-audit", argv, __doc__)
    else:
        flow_cli(backdoor_audit, "privacy-backdoor-audit", argv, __doc__)


if __name__ == "__main__":
    main()
