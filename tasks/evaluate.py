"""Stage `evaluate`: every replicate's scores → metrics with clustered intervals, their means
over replicates, the null control, paired comparisons, utility, ROC plots; then the MLflow
record (after every output is written: a tracking outage loses nothing)."""

import sys

import pandas as pd

from leakaudit.core.layout import PLOTS
from leakaudit.core.plots import write_roc
from leakaudit.core.store import write_json
from leakaudit.core.tracking import check_reachable, flatten
from leakaudit.tmi.evaluation import audit_tables, replicate_utility, summary_json
from leakaudit.tmi.report import render
from leakaudit.tmi.tracking import publish_audit
from leakaudit.tmi.utility import downstream_warning
from tasks._stage import stage


def main() -> None:
    with stage("evaluate") as s:
        p = s.params
        if p.tracking.enabled and p.tracking.required:
            check_reachable(p.tracking)  # fail before computing anything
        seeds = p.replicates.seeds
        scores = {r: s.read("scores", replicate=r) for r in seeds}
        stats = {r: pd.concat([s.read(f"{kind}_stats", replicate=r)
                               for kind in ("pretrain", "finetune")]) for r in seeds}
        tables = audit_tables(scores, p.evaluate)
        metrics = pd.concat([tables.metrics, replicate_utility(stats)], ignore_index=True)
        summary = summary_json(metrics, tables.comparisons, p.evaluate.strongest)
        s.write("metrics", metrics)
        s.write("comparisons", tables.comparisons)
        real = pd.concat([sc[sc.labels == "membership"] for sc in scores.values()])
        write_roc(real, summary, PLOTS, f"{p.data.source}: {len(seeds)} replicates × "
                  f"{scores[seeds[0]].victim_id.nunique()} victims × "
                  f"{scores[seeds[0]].point_id.nunique()} points")
        write_json("metrics.json", summary)
        ids = publish_audit(p)
        s.timings |= {"tracking": ids["status"], "tracking_seconds": ids.get("tracking_seconds")}
        s.metrics |= {k: v for k, v in flatten(summary).items()
                      if v is not None and k.count(".") == 1 and k.endswith(".auc")}
        warning = downstream_warning(summary.get("utility", {}), p.evaluate.min_downstream_gain)
        print(render(summary, warning))
        if warning:
            print(f"WARNING: {warning}", file=sys.stderr)


if __name__ == "__main__":
    main()
