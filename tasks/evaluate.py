"""Stage `evaluate`: metrics with intervals, utility, the ROC plot; the audit's MLflow record."""

from pathlib import Path

import pandas as pd

from leakaudit import store
from leakaudit.evaluation import attack_metrics, metrics_json, utility_metrics
from leakaudit.plots import plot_roc, roc_curves, roc_table
from leakaudit.seeds import rng
from leakaudit.store import atomic_path, write_json
from leakaudit.tables import read_table, write_table
from tasks._stage import MODELS, OUT, stage

PLOTS = Path("plots")


def main() -> None:
    with stage("evaluate", ("evaluate",)) as s:
        p = s.params
        scores = read_table(OUT / "attack/scores.parquet", "scores")
        stats = pd.concat([read_table(OUT / f"{st}/model_stats.parquet", "model_stats")
                           for st in ("pretrain", "finetune")])
        table = pd.concat([attack_metrics(scores, p.evaluate, rng(p.base.seed, "bootstrap")),
                           utility_metrics(stats)], ignore_index=True)
        write_table(table, s.out / "metrics.parquet", "metrics", s.run_id)
        summary = metrics_json(table)
        write_json("metrics.json", summary)

        PLOTS.mkdir(exist_ok=True)
        curves = roc_curves(scores)
        with atomic_path(PLOTS / "roc.csv") as tmp:
            roc_table(curves).to_csv(tmp, index=False)
        aucs = {a: summary[a]["auc"] for a in curves}
        n_v = scores.victim_id.nunique()
        plot_roc(curves, aucs, PLOTS / "roc.png",
                 f"{p.data.source}: {n_v} victims × {scores.point_id.nunique()} points")

        flat = {f"{r.attack}.{r.metric}": r.value for r in table.itertuples()}
        victim = int(scores.victim_id.min())
        artifacts = [PLOTS / "roc.png", PLOTS / "roc.csv", Path("metrics.json")]
        if p.tracking.log_weights:
            artifacts.append(store.model_dir(MODELS / "finetune", victim) / store.WEIGHTS)
        s.tracker.log_audit(flat, artifacts, table)
        s.metrics |= {k: v for k, v in flat.items() if k.endswith(".auc")}
        print(table.pivot(index="attack", columns="metric", values="value").round(3))


if __name__ == "__main__":
    main()
