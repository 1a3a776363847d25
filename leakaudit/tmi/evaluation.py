"""From score tables to the audit's numbers.

TMI (:func:`audit_tables`): per replicate and labelling, every attack's metrics with two-way
cluster-bootstrap intervals and low-FPR evidence; the mean over replicates (and over null
draws) with hierarchical-bootstrap intervals; paired comparisons of the reference attack with
every other. The privacy-backdoor audits use the same machinery with their own grid
(:mod:`leakaudit.backdoor.analysis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.core.params import EvaluateParams
from leakaudit.core.seeds import rng
from leakaudit.core.statistics import (
    ScoreGrid,
    Summary,
    combined,
    entries,
    hierarchical_index,
    paired,
    per_unit,
    resample_units,
)
from leakaudit.tmi.attacks.registry import REFERENCE  # compared with every other, paired


def score_grid(scores: pd.DataFrame) -> ScoreGrid:
    """The victim × point grid of one replicate under one labelling (all attacks). Victim
    clusters are complementary pairs (model ids 2j, 2j + 1), which share their shadows."""
    wide = scores.pivot_table(index=["victim_id", "point_id"], columns="attack", values="score",
                              sort=True)
    member = (scores.drop_duplicates(["victim_id", "point_id"])
              .pivot(index="victim_id", columns="point_id", values="member").sort_index())
    member = member.sort_index(axis=1)
    v, t = member.shape
    if len(wide) != v * t or wide.isna().any().any():
        raise ValueError("scores: every attack needs a score for every (victim, point)")
    return ScoreGrid(
        scores={a: wide[a].to_numpy().reshape(v, t) for a in scores.attack.unique()},
        member=member.to_numpy(bool), victim_cluster=member.index.to_numpy() // 2,
        point_ids=member.columns.to_numpy(),
    )


def _row(labels: str, replicate: int, attack: str, metric: str, s: Summary) -> dict:
    return {"labels": labels, "replicate": replicate, "attack": attack, "metric": metric,
            "value": s.value, "low": s.low, "high": s.high, "negatives": s.negatives,
            "negative_points": s.negative_points, "reliable": s.reliable}


@dataclass(frozen=True)
class AuditTables:
    metrics: pd.DataFrame  # the `audit_metrics` table
    comparisons: pd.DataFrame  # the `audit_comparisons` table


def audit_tables(scores: dict[int, pd.DataFrame], p: EvaluateParams) -> AuditTables:
    """Metrics of every replicate (seed → its scores table) and labelling, their combinations
    over replicates (membership) and over all null draws (null), and the paired comparisons of
    :data:`REFERENCE` and of the strongest attack (``p.strongest``) with every other one."""
    seeds = sorted(scores)
    metrics_rows: list[dict] = []
    comparison_rows: list[dict] = []
    for kind in LABELLINGS:
        units = [(r, lab) for r in seeds for lab in sorted(scores[r].labels.unique())
                 if lab.split("-")[0] == kind]
        if not units:
            continue
        grids = [score_grid(scores[r][scores[r].labels == lab]) for r, lab in units]
        rngs = [rng(r, "bootstrap", _draw(lab)) for r, lab in units]
        res = resample_units(grids, [f"{r}/{lab}" for r, lab in units], p.fpr_targets,
                             p.bootstrap, rngs)
        index = hierarchical_index(len(units), p.bootstrap,
                                   rng(seeds[0], f"hierarchical-{kind}", *seeds))
        for attack, metric in res.estimate:
            for (r, lab), summary in zip(units, per_unit(res, (attack, metric), p.confidence),
                                         strict=True):
                metrics_rows.append(_row(lab, r, attack, metric, summary))
            metrics_rows.append(_row(kind, -1, attack, metric,
                                     combined(res, (attack, metric), index, p.confidence)))
        attacks = list(dict.fromkeys(a for a, _ in res.estimate))
        if kind != "membership":
            continue
        for ref, other in comparison_pairs(attacks, p.strongest):
            for metric in dict.fromkeys(m for a, m in res.estimate if a == other):
                found = paired(res, ref, other, metric, p.confidence, index)
                where = [(r, lab) for r, lab in units] + [(-1, "membership")]
                for (r, lab), s in zip(where, found, strict=True):
                    comparison_rows.append({
                        "labels": lab, "replicate": r, "attack": ref, "baseline": other,
                        "metric": metric,
                        "kind": "ratio" if metric.startswith("tpr_at_") else "difference",
                        "value": s.value, "low": s.low, "high": s.high,
                        "negatives": s.negatives, "reliable": s.reliable})
    return AuditTables(pd.DataFrame(metrics_rows), pd.DataFrame(comparison_rows))


def comparison_pairs(attacks: list[str], strongest: str) -> list[tuple[str, str]]:
    """(reference, other) of every paired comparison: the audit's own attack
    (:data:`REFERENCE`) and the verdict's row (``strongest``), each against every other attack
    that ran."""
    refs = [a for a in dict.fromkeys((REFERENCE, strongest)) if a in attacks]
    return [(ref, other) for ref in refs for other in attacks if other != ref]


LABELLINGS = ("membership", "null", "structured")  # the real masks, then the two nulls


def _draw(labels: str) -> int:
    """A labelling's bootstrap stream: 0 for the real masks, then one per null draw."""
    if labels == "membership":
        return 0
    kind, k = labels.split("-")
    return (1 if kind == "null" else 1001) + int(k)


def replicate_utility(stats: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Held-out accuracy (and DP ε) per replicate and over all replicates, in the
    `audit_metrics` layout: value = mean over models, low/high = min/max over models."""
    rows = []
    everything = pd.concat(stats.values(), ignore_index=True)
    for replicate, frame in [*sorted(stats.items()), (-1, everything)]:
        for r in utility_metrics(frame).itertuples():
            rows.append({"labels": "membership", "replicate": replicate, "attack": "utility",
                         "metric": r.metric, "value": r.value, "low": r.low, "high": r.high,
                         "negatives": np.nan, "negative_points": np.nan, "reliable": True})
    return pd.DataFrame(rows)


UTILITY_KEYS = ("test_accuracy", "test_balanced_accuracy", "majority_test_accuracy",
                "majority_test_balanced_accuracy")


def utility_metrics(stats: pd.DataFrame) -> pd.DataFrame:
    """Held-out accuracy and balanced accuracy of the pretrained and finetuned models and of
    their majority baselines (mean, min, max over models)."""
    rows = []
    for st, g in stats.groupby("stage"):
        for key in UTILITY_KEYS:
            acc = g[key].dropna() if key in g else pd.Series(dtype=float)
            if len(acc):
                rows.append({"attack": "utility", "metric": f"{st}_{key}", "value":
                             float(acc.mean()), "low": float(acc.min()), "high": float(acc.max())})
        eps = g.epsilon.dropna()
        if len(eps):  # DP-SGD finetuning: the accountant's ε (mean, min, max over models)
            rows.append({"attack": "utility", "metric": f"{st}_epsilon", "value": float(eps.mean()),
                         "low": float(eps.min()), "high": float(eps.max())})
    return pd.DataFrame(rows)


def _metric_entries(rows: pd.DataFrame) -> dict[str, float | str | None]:
    return entries(rows.itertuples())


def summary_json(metrics: pd.DataFrame, comparisons: pd.DataFrame, strongest: str) -> dict:
    """metrics.json for `dvc metrics`: the verdict and the strongest query-access attack's row
    (``strongest``, fixed in advance), every attack's mean over replicates with its interval,
    the null controls (mean over all draws), the paired comparisons with the reference attack
    and with the strongest one (``<attack>_vs``),
    and each replicate's AUC. The full tables are `outputs/evaluate/*.parquet`."""
    from leakaudit.tmi.report import verdict

    out: dict[str, Any] = {}
    top = metrics[(metrics.replicate == -1) & (metrics.labels == "membership")]
    for attack, rows in top.groupby("attack", sort=False):
        out[attack] = _metric_entries(rows)
    if strongest in out:
        replicates = int(metrics[metrics.replicate >= 0].replicate.nunique())
        out = {"verdict": None, "strongest": {"attack": strongest, **out[strongest]}, **out}
        out["verdict"] = verdict(out["strongest"], replicates)
    for kind, key in (("null", "null"), ("structured", "structured_null")):
        rows_of = metrics[(metrics.replicate == -1) & (metrics.labels == kind)]
        if len(rows_of):
            out[key] = {a: _metric_entries(rows) for a, rows in rows_of.groupby("attack",
                                                                                 sort=False)}
    comp = comparisons[comparisons.replicate == -1] if len(comparisons) else comparisons
    if len(comp):
        named = comp.assign(metric=comp.metric + "_" + comp.kind, negatives=np.nan,
                            negative_points=np.nan)  # evidence stays in the tables
        for ref, by_ref in named.groupby("attack", sort=False):
            out[f"{ref}_vs"] = {base: entries(rows.itertuples())
                                for base, rows in by_ref.groupby("baseline", sort=False)}
    per = metrics[(metrics.replicate >= 0) & (metrics.labels == "membership")
                  & (metrics.metric == "auc")]
    out["replicates"] = {f"seed-{r}": {row.attack: round(row.value, 4)
                                       for row in rows.itertuples()}
                         for r, rows in per.groupby("replicate")}
    return out

