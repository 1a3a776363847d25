"""Pure functions from the backdoor scores table to the audit's numbers: per arm and score the
metrics with intervals, the amplification (poisoned vs clean), and the calibrated score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakaudit.backdoor.arms import RELEASED
from leakaudit.config import EvaluateParams
from leakaudit.evaluation import attack_metrics


def attack_table(scores: pd.DataFrame, members: pd.DataFrame, targets: np.ndarray,
                 score_names: tuple[str, ...]) -> pd.DataFrame:
    """Long table (attack = "<arm>:<score>", victim_id, candidate_id, member, score) over the
    targets, with ``calibrated`` = victim −loss minus the released checkpoint's −loss.
    ``score_names``: the score columns (the language-model or the image scores)."""
    s = scores[scores.candidate_id.isin(targets)]
    released = s[s.victim_id == RELEASED].set_index(["arm", "candidate_id"]).neg_loss
    v = s[s.victim_id != RELEASED].merge(members, on=["victim_id", "candidate_id"])
    v = v.assign(calibrated=v.neg_loss.to_numpy()
                 - released.loc[list(zip(v.arm, v.candidate_id, strict=True))].to_numpy())
    long = v.melt(id_vars=["arm", "victim_id", "candidate_id", "member"],
                  value_vars=[*score_names, "calibrated"], var_name="score_name",
                  value_name="score")
    long["attack"] = long.arm + ":" + long.score_name
    return long[["attack", "victim_id", "candidate_id", "member", "score"]]


def arm_metrics(long: pd.DataFrame, fpr_targets: list[float], n_boot: int, confidence: float,
                rng: np.random.Generator) -> pd.DataFrame:
    """attack × metric → value [low, high] (pooled over victims)."""
    p = EvaluateParams(fpr_targets=fpr_targets, bootstrap=n_boot, confidence=confidence)
    return attack_metrics(long, p, rng)


def amplification(table: pd.DataFrame) -> pd.DataFrame:
    """Per score: poisoned / clean ratio of each TPR, AUC difference, and whether the two arms'
    95 % intervals are disjoint (the issue's success criterion)."""
    rows = []
    t = table.set_index(["attack", "metric"])
    arms = table.attack.str.split(":", n=1, expand=True)
    for score in dict.fromkeys(arms[1][arms[0] == "clean"]):
        for metric in t.loc[f"clean:{score}"].index:
            c, q = t.loc[(f"clean:{score}", metric)], t.loc[(f"poisoned:{score}", metric)]
            if metric.startswith("tpr"):  # ratio (inf when clean is 0 and poisoned is not)
                name = f"{metric}_ratio"
                value = q.value / c.value if c.value > 0 else np.inf if q.value > 0 else 1.0
            else:
                name, value = f"{metric}_diff", q.value - c.value
            disjoint = float(q.low > c.high)  # poisoned better, 95 % intervals disjoint
            rows += [{"attack": f"amplification:{score}", "metric": name, "value": float(value),
                      "low": float(value), "high": float(value)},
                     {"attack": f"amplification:{score}", "metric": f"{metric}_disjoint",
                      "value": disjoint, "low": disjoint, "high": disjoint}]
    return pd.DataFrame(rows)
