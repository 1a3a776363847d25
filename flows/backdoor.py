"""Prefect flow running the privacy-backdoor audit's DVC stages (`backdoor/dvc.yaml`) as tasks;
shares DVC's cache with `cd backdoor && dvc repro`. Run from the repo root.

    python -m flows.backdoor                 # run once
    python -m flows.backdoor --serve --cron "0 4 * * 0"
"""

from __future__ import annotations

import argparse

from prefect import flow

from flows.dvc_tasks import STAGES, dvc_stage, publish_metrics


@flow(name="privacy-backdoor-audit", log_prints=True)
def backdoor_audit(force: bool = False) -> dict:
    """Run the backdoor stages in order through DVC; publish the metrics table."""
    for name in STAGES["backdoor"]:
        dvc_stage(name, force=force)
    return publish_metrics("privacy-backdoor-metrics", "backdoor/outputs/evaluate/metrics.parquet")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--serve", action="store_true", help="serve as a deployment (needs a server)")
    ap.add_argument("--cron", default=None, help="cron schedule when serving")
    ap.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    args = ap.parse_args(argv)
    if args.serve:
        backdoor_audit.serve(name="privacy-backdoor-audit", cron=args.cron,
                             parameters={"force": args.force})
    else:
        backdoor_audit(force=args.force)


if __name__ == "__main__":
    main()
