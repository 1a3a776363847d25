"""Prefect flow running the TMI audit's DVC stages as tasks (shares DVC's cache with `dvc repro`).

    python -m flows.tmi                      # run once (ephemeral Prefect or PREFECT_API_URL)
    python -m flows.tmi --serve --cron "0 3 * * *"   # serve on a schedule
"""

from __future__ import annotations

import argparse

from prefect import flow

from flows.dvc_tasks import STAGES, dvc_stage, publish_metrics


@flow(name="tmi-audit", log_prints=True)
def tmi_audit(stages: list[str] | None = None, force: bool = False) -> dict:
    """Run the TMI stages in order through DVC; publish the metrics table as an artifact."""
    for name in stages or STAGES["tmi"]:
        dvc_stage(name, force=force)
    return publish_metrics("tmi-audit-metrics")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--serve", action="store_true", help="serve as a deployment (needs a server)")
    ap.add_argument("--cron", default=None, help="cron schedule when serving")
    ap.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    args = ap.parse_args(argv)
    if args.serve:
        tmi_audit.serve(name="tmi-audit", cron=args.cron, parameters={"force": args.force})
    else:
        tmi_audit(force=args.force)


if __name__ == "__main__":
    main()
