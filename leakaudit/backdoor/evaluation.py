"""The privacy-backdoor audits' evaluation, shared by the language-model and vision pipelines
(their candidate and score tables differ; the analysis is the same): per arm and score, AUC and
TPR at 1 %, 0.1 % and 10 % FPR with bootstrap intervals; the amplification; stealth; a ROC plot
of both arms; the MLflow record. :func:`evaluation_table` is pure (DataFrames in, the metrics
table out); :func:`evaluate` reads a pipeline's outputs and writes its results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.backdoor.analysis import amplification, arm_metrics, attack_table
from leakaudit.evaluation import metrics_json
from leakaudit.layout import OUT, PLOTS
from leakaudit.plots import write_roc
from leakaudit.seeds import rng
from leakaudit.store import write_json
from leakaudit.tables import read_table, write_table


def evaluation_table(cands: pd.DataFrame, members: pd.DataFrame, scores: pd.DataFrame,
                     score_names: tuple[str, ...], stealth: dict[str, float], p: Any
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics table, long scores table) from the candidates, the victims' membership, the
    scores and the stealth measurements of the poison and victims stages."""
    long = attack_table(scores, members, cands.candidate_id[cands.target].to_numpy(),
                        score_names)
    e = p.evaluate
    table = arm_metrics(long, e.fpr_targets, e.bootstrap, e.confidence,
                        rng(p.base.seed, "bd-bootstrap"))
    table = pd.concat([table, amplification(table)], ignore_index=True)
    n_neg = int((~long[long.attack == "clean:neg_loss"].member).sum())
    extra = {**{f"stealth.{k}": v for k, v in stealth.items()},
             "negatives_behind_1pct_fpr": n_neg * 0.01}
    table = pd.concat([table, pd.DataFrame(
        [{"attack": k.split(".", 1)[0] if "." in k else "audit",
          "metric": k.split(".", 1)[1] if "." in k else k,
          "value": float(v), "low": float(v), "high": float(v)} for k, v in extra.items()
         if not (isinstance(v, float) and math.isnan(v))])], ignore_index=True)
    return table, long


def evaluate(p: Any, audit_id: str, out: Path, candidates: str, scores_table: str,
             score_names: tuple[str, ...], kind: str) -> dict[str, float]:
    """Read the pipeline's outputs (under ``outputs/``), write metrics.json, the metrics table,
    the ROC plot and the MLflow record; return the stage's headline metrics."""
    cands = read_table(OUT / "targets/candidates.parquet", candidates)
    members = read_table(OUT / "targets/membership.parquet", "bd_membership")
    scores = read_table(OUT / "score/scores.parquet", scores_table)
    stealth = {**json.loads((OUT / "poison/stage.json").read_text())["metrics"],
               **json.loads((OUT / "victims/stage.json").read_text())["metrics"]}
    table, long = evaluation_table(cands, members, scores, score_names, stealth, p)
    summary = metrics_json(table)
    write_json("metrics.json", summary)
    write_table(table, out / "metrics.parquet", "metrics", audit_id=audit_id)

    shown = long[long.attack.str.endswith((":neg_loss", ":calibrated"))]
    write_roc(shown, summary, PLOTS, f"clean vs poisoned: {long.victim_id.nunique()} victims"
              f" × {long.candidate_id.nunique()} targets")

    flat = {f"{r.attack}.{r.metric}": r.value for r in table.itertuples()
            if np.isfinite(r.value)}
    ids: dict = {"audit_id": audit_id, "mlflow_run_id": None}
    if p.tracking.enabled:
        from leakaudit.backdoor.tracking import log_backdoor

        per_arm = {arm: {k.split(":", 1)[1]: v for k, v in flat.items()
                         if k.startswith(f"{arm}:")} for arm in ("clean", "poisoned")}
        ids = log_backdoor(p, audit_id, {k.replace(":", "."): v for k, v in flat.items()},
                           per_arm, [PLOTS / "roc.png", PLOTS / "roc.csv",
                                     Path("metrics.json")], kind)
    write_json(out / "mlflow.json", ids)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        main_rows = table[table.attack.str.contains(":neg_loss|:calibrated")]
        print(main_rows.pivot(index="attack", columns="metric", values="value").round(3))
    return {k.replace(":", "."): v for k, v in flat.items()
            if k.endswith((".auc", "tpr_at_1pct_fpr")) and "amplification" not in k}
