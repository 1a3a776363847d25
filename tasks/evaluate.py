"""Stage `evaluate`: metrics with intervals, utility, the ROC plots; the audit's MLflow record."""

import json
import time
from pathlib import Path

import pandas as pd

from leakaudit import store
from leakaudit.evaluation import attack_metrics, metrics_json, utility_metrics
from leakaudit.plots import write_roc
from leakaudit.seeds import rng
from leakaudit.store import write_json
from leakaudit.tables import read_table, write_table
from leakaudit.tracking import log_audit
from tasks._stage import MODELS, OUT, stage

PLOTS = Path("plots")
UPSTREAM = ("prepare", "pretrain", "finetune", "query", "attack")


def main() -> None:
    with stage("evaluate", ("evaluate",), torch=False) as s:
        p = s.params
        scores = read_table(OUT / "attack/scores.parquet", "scores")
        stats = pd.concat([read_table(OUT / f"{st}/model_stats.parquet", "model_stats")
                           for st in ("pretrain", "finetune")])
        table = pd.concat([attack_metrics(scores, p.evaluate, rng(p.base.seed, "bootstrap")),
                           utility_metrics(stats)], ignore_index=True)
        summary = metrics_json(table)
        write_json("metrics.json", summary)

        write_roc(scores, summary, PLOTS, f"{p.data.source}: "
                  f"{scores.victim_id.nunique()} victims × "
                  f"{scores.point_id.nunique()} points")

        flat = {f"{r.attack}.{r.metric}": r.value for r in table.itertuples()}
        ids: dict = {"audit_id": s.audit_id, "mlflow_run_id": None}
        if p.tracking.enabled:
            records = {st: json.loads((OUT / st / "stage.json").read_text()) for st in UPSTREAM}
            artifacts = [PLOTS / "roc.png", PLOTS / "roc.csv", Path("metrics.json")]
            if p.tracking.log_weights:
                victim = int(scores.victim_id.min())
                artifacts.append(store.model_dir(MODELS / "finetune", victim) / store.WEIGHTS)
            t0 = time.perf_counter()
            ids = log_audit(p, records, flat, artifacts, table)
            s.metrics["tracking_seconds"] = time.perf_counter() - t0
        write_json(s.out / "mlflow.json", ids)
        write_table(table, s.out / "metrics.parquet", "metrics", audit_id=s.audit_id,
                    mlflow_run_id=ids.get("mlflow_run_id"))
        s.metrics |= {k: v for k, v in flat.items() if k.endswith(".auc")}
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(table.pivot(index="attack", columns="metric", values="value").round(3))


if __name__ == "__main__":
    main()
