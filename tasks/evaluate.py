"""Stage `evaluate`: every replicate's scores → metrics with clustered intervals, their means
over replicates, the null control, paired comparisons, utility, ROC plots; then the MLflow
record (after every output is written: a tracking outage loses nothing)."""

import pandas as pd

from leakaudit.evaluation import audit_tables, replicate_utility, summary_json
from leakaudit.layout import OUT, PLOTS, replicate_dir
from leakaudit.plots import write_roc
from leakaudit.report import render
from leakaudit.store import write_json
from leakaudit.tables import read_table, write_table
from leakaudit.tracking import check_reachable, flatten, publish_audit
from tasks._stage import stage

# the params sections this stage reads (its dvc.yaml params must cover them)
SECTIONS = ("replicates", "data", "evaluate", "tracking")


def main() -> None:
    with stage("evaluate", SECTIONS, torch=False) as s:
        p = s.params
        if p.tracking.enabled and p.tracking.required:
            check_reachable(p.tracking)  # fail before computing anything
        seeds = p.replicates.seeds
        runs = {r: replicate_dir(OUT, r) for r in seeds}
        scores = {r: read_table(d / "attack/scores.parquet", "scores") for r, d in runs.items()}
        stats = {r: pd.concat([read_table(d / f"{st}/model_stats.parquet", "model_stats")
                               for st in ("pretrain", "finetune")]) for r, d in runs.items()}
        tables = audit_tables(scores, p.evaluate)
        metrics = pd.concat([tables.metrics, replicate_utility(stats)], ignore_index=True)
        summary = summary_json(metrics, tables.comparisons)
        write_table(metrics, s.out / "metrics.parquet", "audit_metrics", audit_id=s.audit_id)
        write_table(tables.comparisons, s.out / "comparisons.parquet", "audit_comparisons",
                    audit_id=s.audit_id)
        real = pd.concat([sc[sc.labels == "membership"] for sc in scores.values()])
        write_roc(real, summary, PLOTS, f"{p.data.source}: {len(seeds)} replicates × "
                  f"{scores[seeds[0]].victim_id.nunique()} victims × "
                  f"{scores[seeds[0]].point_id.nunique()} points")
        write_json("metrics.json", summary)
        ids = publish_audit(p)
        s.timings |= {"tracking": ids["status"], "tracking_seconds": ids.get("tracking_seconds")}
        s.metrics |= {k: v for k, v in flatten(summary).items()
                      if v is not None and k.count(".") == 1 and k.endswith(".auc")}
        print(render(summary))


if __name__ == "__main__":
    main()
