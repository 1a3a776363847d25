"""Honest uncertainty for pooled membership scores (``shared/spec/statistics.md``).

A pooled score table has rows (victim, challenge point) that are not independent: points recur
under every victim, victims come from one fleet, and the whole audit is one draw of masks,
inits and views. So:

- within one replicate, a **two-way cluster bootstrap** resamples victim clusters and challenge
  points independently with replacement; a row's weight is the product of its victim cluster's
  and its point's multiplicities (Owen's pigeonhole bootstrap). Every metric is computed on the
  weighted rows, vectorised over the resamples;
- across replicates, a **hierarchical bootstrap** resamples replicates with replacement and, in
  each chosen replicate, one of its cluster resamples; the headline is the mean over replicates;
- **paired comparisons** apply the same resample to both attacks and report the interval of the
  difference (AUC, balanced accuracy) or the ratio (TPR at a fixed FPR);
- **low-FPR evidence, per ROC**: TPR at FPR f rests on the ⌊f·N⌋ highest-scoring negatives of
  its ROC; a value is reliable only if *every* ROC it averages (replicates, null draws, halves)
  rests on at least :data:`MIN_NEGATIVES` negatives from at least :data:`MIN_POINTS` distinct
  points — a combined value carries the weakest ROC's counts;
- **balanced accuracy at a fixed threshold**: each row's prediction uses a threshold chosen on
  the *other* half of the points (:func:`crossfit_predictions`), never on its own label; the
  bootstrap resamples that fixed-threshold statistic (re-maximising over thresholds in every
  resample biased it up: a null control could never cover 0.5).

Rule for TPR at FPR f (as in :mod:`leakaudit.core.metrics`): the largest TPR among ROC operating
points (thresholds at distinct scores) whose FPR does not exceed f.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from leakaudit.core.metrics import tpr_key

MIN_NEGATIVES = 20  # fewer negatives behind a TPR@FPR point: flagged, never a finding
MIN_POINTS = 10  # fewer distinct points among those negatives: flagged too
CHUNK = 256  # resamples per vectorised block (bounds memory at B × rows floats)


def is_tpr(metric: str) -> bool:
    """Whether ``metric`` is a TPR at a fixed FPR (the metrics that need evidence counts)."""
    return metric.startswith("tpr_at_")


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold (predict member when score ≥ it) with the highest balanced accuracy on
    these rows, among distinct scores; ``inf`` (predict none) without both classes or when no
    threshold beats predicting none. Ties go to the higher threshold."""
    y = labels.astype(bool)
    if y.all() or not y.any():
        return float("inf")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], y[order]
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tpr = np.r_[0.0, np.cumsum(y)[ends] / y.sum()]
    fpr = np.r_[0.0, np.cumsum(~y)[ends] / (~y).sum()]
    best = int(np.argmax(tpr - fpr))
    return float("inf") if best == 0 else float(s[ends[best - 1]])


def crossfit_predictions(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray
                         ) -> np.ndarray:
    """Each row's member/non-member prediction at a threshold that never saw its label: the
    groups (challenge points or candidates) are split in two folds (alternating in sorted id
    order: fixed, label-free), and each fold is predicted with :func:`best_threshold` of the
    other fold's rows."""
    ids = np.unique(groups)
    fold = np.searchsorted(ids, groups) % 2
    pred = np.zeros(len(scores), dtype=bool)
    for k in (0, 1):
        test = fold == k
        pred[test] = scores[test] >= best_threshold(scores[~test], labels[~test])
    return pred


def weighted_metrics(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                     fpr_targets: Iterable[float], groups: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """AUC, balanced accuracy and TPR at each target FPR for every row of ``weights``.

    scores, labels, groups [N] (groups: each row's point, for the cross-fitted threshold);
    weights [B, N] (non-negative row multiplicities). Returns metric → [B]. Ties move together
    (thresholds at distinct scores); AUC is the trapezoid area, which for unit weights equals
    the Mann-Whitney statistic; balanced accuracy is that of the fixed cross-fitted predictions
    (:func:`crossfit_predictions`).
    """
    targets = list(fpr_targets)
    pred = crossfit_predictions(scores, labels, groups)
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order].astype(bool)
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    out: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ["auc", "balanced_accuracy", *map(tpr_key, targets)]}
    for start in range(0, len(weights), CHUNK):
        w = weights[start : start + CHUNK][:, order].astype(np.float64)
        tp = np.cumsum(w * y, axis=1)[:, ends]
        fp = np.cumsum(w * ~y, axis=1)[:, ends]
        pos, neg = tp[:, -1:], fp[:, -1:]
        tpr = np.c_[np.zeros(len(w)), tp / np.where(pos > 0, pos, 1)]
        fpr = np.c_[np.zeros(len(w)), fp / np.where(neg > 0, neg, 1)]
        out["auc"].append((np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2).sum(1))
        out["balanced_accuracy"].append(_balanced(weights[start : start + CHUNK], labels, pred))
        for f in targets:
            out[tpr_key(f)].append(np.where(fpr <= f + 1e-12, tpr, 0.0).max(1))
    return {k: np.concatenate(v) for k, v in out.items()}


def _balanced(w: np.ndarray, labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(TPR + TNR) / 2 of fixed predictions under each row of weights ``w`` [B, N]."""
    w = w.astype(np.float64)
    y = labels.astype(bool)
    pos, neg = (w * y).sum(1), (w * ~y).sum(1)
    tpr = (w * (y & pred)).sum(1) / np.where(pos > 0, pos, 1)
    tnr = (w * (~y & ~pred)).sum(1) / np.where(neg > 0, neg, 1)
    return (tpr + tnr) / 2


def evidence(scores: np.ndarray, labels: np.ndarray, point_ids: np.ndarray, fpr: float
             ) -> tuple[int, int]:
    """(negatives, distinct points): the ⌊fpr·N⌋ highest-scoring negatives that decide TPR at
    this FPR, and how many distinct challenge points they cover."""
    neg = ~labels.astype(bool)
    k = int(np.floor(fpr * neg.sum() + 1e-9))
    if k == 0:
        return 0, 0
    top = np.argsort(-scores[neg], kind="mergesort")[:k]
    return k, int(len(np.unique(point_ids[neg][top])))


@dataclass(frozen=True)
class ScoreGrid:
    """One unit of evidence (a replicate under one labelling): every attack's scores on the same
    victim × point grid, the membership labels, and the clusters.

    ``victim_cluster`` [V] groups victims that share models (complementary pairs share their
    shadow set); clusters are resampled as wholes."""

    scores: dict[str, np.ndarray]  # attack → [V, T]
    member: np.ndarray  # [V, T] bool
    victim_cluster: np.ndarray  # [V] int
    point_ids: np.ndarray  # [T]


def cluster_weights(grid: ScoreGrid, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[B, V·T] row weights of a two-way cluster bootstrap (victim clusters × points)."""
    v, t = grid.member.shape
    clusters, cid = np.unique(grid.victim_cluster, return_inverse=True)
    wc = rng.multinomial(len(clusters), np.full(len(clusters), 1 / len(clusters)), size=n_boot)
    wt = rng.multinomial(t, np.full(t, 1 / t), size=n_boot)
    return (wc[:, cid][:, :, None] * wt[:, None, :]).reshape(n_boot, v * t)


@dataclass
class Resamples:
    """Estimates and bootstrap values of every (attack, metric) over the units of an analysis:
    ``estimate[(a, m)]`` [U], ``draws[(a, m)]`` [U, B]; evidence counts per unit."""

    units: list[str]
    estimate: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    draws: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    negatives: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    negative_points: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


def resample_units(grids: list[ScoreGrid], units: list[str], fpr_targets: list[float],
                   n_boot: int, rngs: list[np.random.Generator]) -> Resamples:
    """Point estimates, cluster-bootstrap draws and evidence of every attack in every unit.
    All attacks of a unit share its resamples (so differences between them are paired)."""
    res = Resamples(units)
    per: dict[tuple[str, str], list] = {}
    for grid, g in zip(grids, rngs, strict=True):
        w = cluster_weights(grid, n_boot, g)
        y = grid.member.reshape(-1)
        pts = np.broadcast_to(grid.point_ids, grid.member.shape).reshape(-1)
        for attack, sc in grid.scores.items():
            s = np.asarray(sc, dtype=np.float64).reshape(-1)
            est = weighted_metrics(s, y, np.ones((1, len(s))), fpr_targets, pts)
            boot = weighted_metrics(s, y, w, fpr_targets, pts)
            for metric in est:
                ev = evidence(s, y, pts, _fpr_of(metric, fpr_targets)) if is_tpr(metric) \
                    else (np.nan, np.nan)
                per.setdefault((attack, metric), []).append((est[metric][0], boot[metric], ev))
    for key, rows in per.items():
        res.estimate[key] = np.array([r[0] for r in rows])
        res.draws[key] = np.stack([r[1] for r in rows])
        res.negatives[key] = np.array([r[2][0] for r in rows], dtype=np.float64)
        res.negative_points[key] = np.array([r[2][1] for r in rows], dtype=np.float64)
    return res


def _fpr_of(metric: str, fpr_targets: list[float]) -> float:
    return next(f for f in fpr_targets if tpr_key(f) == metric)


def hierarchical_index(n_units: int, n_boot: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(unit [B, U], resample [B, U]): for each combined resample, U units drawn with
    replacement and, independently for each, one of its cluster resamples. A single unit
    keeps its own resamples as they are (drawing among them again would only add noise)."""
    if n_units == 1:
        return np.zeros((n_boot, 1), dtype=np.int64), np.arange(n_boot)[:, None]
    return (rng.integers(n_units, size=(n_boot, n_units)),
            rng.integers(n_boot, size=(n_boot, n_units)))


@dataclass(frozen=True)
class Summary:
    """A value with its percentile interval; ``negatives`` behind it for TPR@FPR metrics."""

    value: float
    low: float
    high: float
    negatives: float = float("nan")
    negative_points: float = float("nan")

    @property
    def reliable(self) -> bool:
        """False for a TPR@FPR whose weakest ROC rests on fewer than :data:`MIN_NEGATIVES`
        negatives or :data:`MIN_POINTS` distinct points."""
        return bool(np.isnan(self.negatives) or (self.negatives >= MIN_NEGATIVES
                                                 and self.negative_points >= MIN_POINTS))


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval; NaN resamples (an undefined ratio) are left out, infinite ones
    (a ratio over zero) count as the largest values."""
    a = (1 - confidence) / 2
    finite = values[~np.isnan(values)]
    if not len(finite):
        return np.nan, np.nan
    lo, hi = np.quantile(finite, [a, 1 - a], method="inverted_cdf")
    return float(lo), float(hi)


def per_unit(res: Resamples, key: tuple[str, str], confidence: float) -> list[Summary]:
    """Each unit's estimate with its cluster-bootstrap interval and evidence."""
    return [Summary(float(res.estimate[key][u]), *_interval(res.draws[key][u], confidence),
                    float(res.negatives[key][u]), float(res.negative_points[key][u]))
            for u in range(len(res.units))]


def combined(res: Resamples, key: tuple[str, str], index: tuple[np.ndarray, np.ndarray],
             confidence: float) -> Summary:
    """Mean over units with the hierarchical-bootstrap interval. Evidence is the weakest unit's
    (each unit's TPR is decided by its own top negatives: a mean is only as good as its
    thinnest ROC)."""
    unit, boot = index
    values = res.draws[key][unit, boot].mean(1)
    return Summary(float(res.estimate[key].mean()), *_interval(values, confidence),
                   float(res.negatives[key].min()), float(res.negative_points[key].min()))


def paired(res: Resamples, a: str, b: str, metric: str, confidence: float,
           index: tuple[np.ndarray, np.ndarray] | None = None) -> list[Summary]:
    """Attack ``a`` against ``b`` on the same resamples: the difference a − b (AUC, balanced
    accuracy) or the ratio a / b (TPR@FPR), per unit and, when ``index`` is given, combined
    (the mean difference, or the ratio of the means). Evidence is the smaller of the two, per
    unit; combined, the weakest unit's."""
    ka, kb = (a, metric), (b, metric)
    ratio = is_tpr(metric)

    def compare(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not ratio:
            return x - y
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, x / np.where(y > 0, y, 1), np.where(x > 0, np.inf, np.nan))

    neg = np.minimum(res.negatives[ka], res.negatives[kb])
    pts = np.minimum(res.negative_points[ka], res.negative_points[kb])
    out = [Summary(float(compare(res.estimate[ka][u], res.estimate[kb][u])),
                   *_interval(compare(res.draws[ka][u], res.draws[kb][u]), confidence),
                   float(neg[u]), float(pts[u]))
           for u in range(len(res.units))]
    if index is not None:
        unit, boot = index
        da, db = res.draws[ka][unit, boot].mean(1), res.draws[kb][unit, boot].mean(1)
        out.append(Summary(float(compare(res.estimate[ka].mean(), res.estimate[kb].mean())),
                           *_interval(compare(da, db), confidence),
                           float(neg.min()), float(pts.min())))
    return out


def json_value(x: float) -> float | str | None:
    """A metric for metrics.json: rounded to 4 decimals; an unbounded value (a ratio over a
    zero TPR) as ``"inf"`` / ``"-inf"``, never null; ``None`` only for an undefined one."""
    x = float(x)
    if np.isnan(x):
        return None
    return round(x, 4) if np.isfinite(x) else ("inf" if x > 0 else "-inf")


def entries(rows: Iterable, keep_degenerate: bool = True) -> dict[str, float | str | None]:
    """metrics.json entries of metric rows (``metric``, ``value``, ``low``, ``high``,
    ``negatives``, ``negative_points``, ``reliable``): ``<metric>`` with ``_low`` and ``_high``
    and, for a TPR, its evidence (``_negatives``, ``_points``: the weakest ROC's). A value
    that is not reliable is written under ``<metric>_unreliable`` — and so are its bounds
    (``<metric>_unreliable_low``, ``…_high``): no key of it reads as a finding. An interval
    equal to its value is left out unless ``keep_degenerate``."""
    out: dict[str, float | str | None] = {}
    for r in rows:
        name = r.metric if r.reliable else f"{r.metric}_unreliable"
        out[name] = json_value(r.value)
        if keep_degenerate or r.low != r.value or r.high != r.value:
            out[f"{name}_low"], out[f"{name}_high"] = json_value(r.low), json_value(r.high)
        if not np.isnan(r.negatives):
            out[f"{r.metric}_negatives"] = int(r.negatives)
            out[f"{r.metric}_points"] = int(r.negative_points)
    return out
