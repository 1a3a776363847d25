"""Pool scores over victims and compute every metric with its bootstrap interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakaudit.config import EvaluateParams
from leakaudit.metrics import bootstrap_metrics


def normalise(scores: pd.DataFrame, how: str) -> pd.DataFrame:
    """Optionally min-max normalise scores per (attack, victim) before pooling."""
    if how == "none":
        return scores
    g = scores.groupby(["attack", "victim_id"]).score
    lo, hi = g.transform("min"), g.transform("max")
    return scores.assign(score=(scores.score - lo) / (hi - lo).replace(0, 1))


def attack_metrics(scores: pd.DataFrame, p: EvaluateParams, rng: np.random.Generator
                   ) -> pd.DataFrame:
    """The metrics table: attack × metric → value with its interval (pooled over victims)."""
    rows = []
    for attack, g in normalise(scores, p.normalize).groupby("attack", sort=False):
        res = bootstrap_metrics(g.score.to_numpy(), g.member.to_numpy(), p.fpr_targets,
                                p.bootstrap, p.confidence, rng)
        rows += [{"attack": attack, "metric": k, "value": v.value, "low": v.low, "high": v.high}
                 for k, v in res.items()]
    return pd.DataFrame(rows)


def utility_metrics(stats: pd.DataFrame) -> pd.DataFrame:
    """Held-out accuracy of the pretrained and finetuned models (mean, min, max over models)."""
    rows = []
    for st, g in stats.groupby("stage"):
        acc = g.test_accuracy
        rows.append({"attack": "utility", "metric": f"{st}_test_accuracy",
                     "value": float(acc.mean()), "low": float(acc.min()), "high": float(acc.max())})
        eps = g.epsilon.dropna()
        if len(eps):  # DP-SGD finetuning: the accountant's ε (mean, min, max over models)
            rows.append({"attack": "utility", "metric": f"{st}_epsilon", "value": float(eps.mean()),
                         "low": float(eps.min()), "high": float(eps.max())})
    return pd.DataFrame(rows)


def metrics_json(table: pd.DataFrame) -> dict:
    """{attack: {metric: value, metric_low: …, metric_high: …}} for `dvc metrics`."""
    out: dict[str, dict[str, float]] = {}
    for r in table.itertuples():
        d = out.setdefault(r.attack, {})
        d[r.metric] = round(r.value, 4)
        d[f"{r.metric}_low"] = round(r.low, 4)
        d[f"{r.metric}_high"] = round(r.high, 4)
    return out
