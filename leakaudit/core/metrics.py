"""ROC metrics with one documented rule for TPR at a fixed FPR, and bootstrap intervals.

Rule: TPR at FPR ≤ f is the largest TPR among ROC operating points whose FPR does not exceed f
(thresholds at every distinct score; ties move together). With n negatives the smallest
non-zero FPR is 1/n, so a target below that reports the TPR at FPR = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def roc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) at every distinct threshold, starting at (0, 0); higher score = member."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order].astype(bool)
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(~y)[distinct]
    p, n = max(1, y.sum()), max(1, (~y).sum())
    return np.r_[0.0, fp / n], np.r_[0.0, tp / p]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; equals the Mann-Whitney statistic)."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Largest TPR with FPR ≤ target."""
    ok = fpr <= target + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def best_balanced_accuracy(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """max over thresholds of (TPR + 1 − FPR) / 2."""
    return float(((tpr + 1 - fpr) / 2).max())


def point_metrics(scores: np.ndarray, labels: np.ndarray, fpr_targets: list[float]) -> dict:
    """AUC, best balanced accuracy and TPR at each target FPR."""
    fpr, tpr = roc(scores, labels)
    out = {"auc": auc(fpr, tpr), "balanced_accuracy": best_balanced_accuracy(fpr, tpr)}
    for f in fpr_targets:
        out[tpr_key(f)] = tpr_at_fpr(fpr, tpr, f)
    return out


def tpr_key(f: float) -> str:
    """Metric name for TPR at FPR f, e.g. 0.01 → 'tpr_at_1pct_fpr'."""
    return f"tpr_at_{f * 100:g}pct_fpr"


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def bootstrap_metrics(
    scores: np.ndarray, labels: np.ndarray, fpr_targets: list[float], n_boot: int,
    confidence: float, rng: np.random.Generator,
) -> dict[str, Interval]:
    """Point estimates with percentile bootstrap intervals (resampling members and non-members
    separately, so every replicate keeps the class balance)."""
    labels = labels.astype(bool)
    est = point_metrics(scores, labels, fpr_targets)
    pos, neg = np.nonzero(labels)[0], np.nonzero(~labels)[0]
    reps: dict[str, list[float]] = {k: [] for k in est}
    for _ in range(n_boot):
        idx = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        for k, v in point_metrics(scores[idx], labels[idx], fpr_targets).items():
            reps[k].append(v)
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    return {
        k: Interval(v, float(np.quantile(reps[k], lo_q)), float(np.quantile(reps[k], hi_q)))
        for k, v in est.items()
    }
