"""How well a fixed detector separates benign from poisoned releases it never saw: detection
AUC with an interval clustered over seeds (releases of one seed share a base model, targets
and data), and the false- and true-positive rates at its fixed threshold with exact
(Clopper–Pearson) intervals — the FPR a count of n negatives can resolve is 1/n."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakaudit.core.dp_bounds import exact_interval
from leakaudit.core.metrics import auc, roc
from leakaudit.inspect.detector import Detector


@dataclass(frozen=True)
class Detection:
    """One detector on one set of releases."""

    auc: float
    auc_interval: tuple[float, float]
    fpr: float
    fpr_interval: tuple[float, float]
    tpr: float
    tpr_interval: tuple[float, float]
    negatives: int
    positives: int
    seeds: int


def scores(det: Detector, table: pd.DataFrame) -> np.ndarray:
    """The detector's score of every release (row) of a signals table."""
    return np.array([det.score({s: row[s] for s in det.signals})
                     for _, row in table.iterrows()])


def seed_auc(score: np.ndarray, labels: np.ndarray, seeds: np.ndarray, n_boot: int = 2000,
             confidence: float = 0.95, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Pooled AUC and its percentile interval from resampling whole seeds."""
    est = auc(*roc(score, labels))
    units = np.unique(seeds)
    groups = [np.flatnonzero(seeds == u) for u in units]
    r = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = np.concatenate([groups[i] for i in r.integers(len(units), size=len(units))])
        if 0 < labels[idx].sum() < len(idx):
            boots.append(auc(*roc(score[idx], labels[idx])))
    lo, hi = np.quantile(boots, [(1 - confidence) / 2, (1 + confidence) / 2])
    return est, (float(lo), float(hi))


def detection(det: Detector, table: pd.DataFrame, confidence: float = 0.95) -> Detection:
    """AUC (seed-clustered interval) and the fixed threshold's FPR and TPR (exact intervals)."""
    s, y = scores(det, table), table.label.to_numpy().astype(bool)
    a, a_int = seed_auc(s, y, table.seed.to_numpy(), confidence=confidence)
    flagged = s > det.threshold
    fp, n = int(flagged[~y].sum()), int((~y).sum())
    tp, m = int(flagged[y].sum()), int(y.sum())
    return Detection(a, a_int, fp / n, exact_interval(fp, n, confidence), tp / m,
                     exact_interval(tp, m, confidence), n, m, table.seed.nunique())


def signal_aucs(table: pd.DataFrame, signals: tuple[str, ...], tuning: pd.DataFrame
                ) -> dict[str, float]:
    """Each signal alone as a detector, its direction fixed on the tuning releases."""
    out = {}
    for sname in signals:
        sign = 1.0 if auc(*roc(tuning[sname].to_numpy(), tuning.label.to_numpy())) >= 0.5 \
            else -1.0
        out[sname] = auc(*roc(sign * table[sname].to_numpy(), table.label.to_numpy()))
    return out
