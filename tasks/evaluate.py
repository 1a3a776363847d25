"""Stage `evaluate`: every replicate's scores → metrics with clustered intervals, their means
over replicates, the null control, paired comparisons, utility, ROC plots; the MLflow record."""

import json
import time
from pathlib import Path

import pandas as pd

from leakaudit import store
from leakaudit.evaluation import audit_tables, replicate_utility, summary_json
from leakaudit.plots import write_roc
from leakaudit.store import write_json
from leakaudit.tables import read_table, write_table
from leakaudit.tracking import flatten, log_audit
from tasks._stage import MODELS, OUT, replicate_dir, stage

PLOTS = Path("plots")
UPSTREAM = ("prepare", "pretrain", "finetune", "query", "attack")


def main() -> None:
    with stage("evaluate", ("evaluate", "replicates"), torch=False) as s:
        p = s.params
        seeds = p.replicates.seeds
        runs = {r: replicate_dir(OUT, r) for r in seeds}
        scores = {r: read_table(d / "attack/scores.parquet", "scores") for r, d in runs.items()}
        stats = {r: pd.concat([read_table(d / f"{st}/model_stats.parquet", "model_stats")
                               for st in ("pretrain", "finetune")]) for r, d in runs.items()}
        tables = audit_tables(scores, p.evaluate)
        metrics = pd.concat([tables.metrics, replicate_utility(stats)], ignore_index=True)
        summary = summary_json(metrics, tables.comparisons)
        write_json("metrics.json", summary)

        real = pd.concat([sc[sc.labels == "membership"] for sc in scores.values()])
        write_roc(real, summary, PLOTS, f"{p.data.source}: {len(seeds)} replicates × "
                  f"{scores[seeds[0]].victim_id.nunique()} victims × "
                  f"{scores[seeds[0]].point_id.nunique()} points")

        flat = {k: v for k, v in flatten(summary).items() if v is not None}
        ids: dict = {"audit_id": s.audit_id, "mlflow_run_id": None}
        if p.tracking.enabled:
            records = {f"{st}@{r}": json.loads((d / st / "stage.json").read_text())
                       for r, d in runs.items() for st in UPSTREAM}
            artifacts = [PLOTS / "roc.png", PLOTS / "roc.csv", Path("metrics.json")]
            if p.tracking.log_weights:
                first = scores[seeds[0]]
                victim = int(first.victim_id.min())
                artifacts.append(store.model_dir(replicate_dir(MODELS, seeds[0]) / "finetune",
                                                 victim) / store.WEIGHTS)
            t0 = time.perf_counter()
            ids = log_audit(p, records, flat, artifacts, metrics)
            s.metrics["tracking_seconds"] = time.perf_counter() - t0
        write_json(s.out / "mlflow.json", ids)
        write_table(metrics, s.out / "metrics.parquet", "audit_metrics", audit_id=s.audit_id,
                    mlflow_run_id=ids.get("mlflow_run_id"))
        write_table(tables.comparisons, s.out / "comparisons.parquet", "audit_comparisons",
                    audit_id=s.audit_id)
        s.metrics |= {k: v for k, v in flat.items() if k.count(".") == 1 and k.endswith(".auc")}
        from leakaudit.report import render

        print(render(summary))


if __name__ == "__main__":
    main()
