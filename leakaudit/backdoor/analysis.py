"""Pure functions from a backdoor audit's score tables to its numbers
(``shared/spec/statistics.md``, ``shared/spec/privacy-backdoor.md``).

One replicate is a victims × candidates grid of every arm's scores. Victims come in
complementary pairs (2j, 2j + 1: balanced masks) and recur under every candidate; candidates
recur under every victim. So every metric of a replicate is computed under **one** two-way
cluster bootstrap — victim pairs × candidates, candidates resampled within the targets and
within the non-targets — shared by both arms, every score and both candidate groups: the
arms' differences and ratios, and targets against non-targets, are **paired**. Replicates
(independent seeds of poisoning, targets and victims) combine by the hierarchical bootstrap of
:mod:`leakaudit.core.statistics`.

**Best-vs-best.** The attacker released the checkpoint, so in either arm it may use any score
it can compute (raw −loss, Min-K %, top-5, calibrated …). Its pick is a rule fixed in advance:
the targets are split into two seeded halves; on each half, each arm uses the score with the
highest TPR at the first FPR target (then AUC, then the listed order) *on the other half*. The
arm's ``best`` metric is the mean of its two held-out halves, so no number is chosen by looking
at itself; every bootstrap resample re-runs the pick on its own resampled halves, so the
selection's variance is inside the interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakaudit.backdoor.arms import ARMS, RELEASED
from leakaudit.core.metrics import tpr_key
from leakaudit.core.seeds import rng
from leakaudit.core.statistics import (
    Resamples,
    combined,
    evidence,
    hierarchical_index,
    is_tpr,
    paired,
    per_unit,
    weighted_metrics,
)

GROUPS = ("targets", "non_targets")  # candidate groups, resampled separately
BEST = "best"  # the cross-fitted best score of an arm


@dataclass(frozen=True)
class BackdoorGrid:
    """One replicate: ``scores["<arm>:<score>"]`` [V, C] over victims × candidates, the
    membership [V, C], victim pairs [V], which candidates are targets [C], and each target's
    selection half (0 or 1; −1 for non-targets) [C]."""

    scores: dict[str, np.ndarray]
    member: np.ndarray
    victim_cluster: np.ndarray
    target: np.ndarray
    half: np.ndarray
    candidate_ids: np.ndarray


def backdoor_grid(scores: pd.DataFrame, members: pd.DataFrame, targets: pd.Series,
                  score_names: tuple[str, ...], seed: int) -> BackdoorGrid:
    """The grid of one replicate from its ``bd_scores`` / ``bd_image_scores`` table, the
    ``bd_membership`` table and ``targets`` (candidate_id → is a target), with
    ``calibrated`` = victim −loss minus the arm's released checkpoint's −loss."""
    released = scores[scores.victim_id == RELEASED]
    victims = scores[scores.victim_id != RELEASED]
    member = members.pivot(index="victim_id", columns="candidate_id", values="member")
    member = member.sort_index().sort_index(axis=1)
    if member.isna().any().any():
        raise ValueError("bd_membership: every victim needs a row for every candidate")
    vids, cids = member.index.to_numpy(), member.columns.to_numpy()
    out: dict[str, np.ndarray] = {}
    for arm in ARMS:
        v = victims[victims.arm == arm]
        ref = released[released.arm == arm].set_index("candidate_id").neg_loss
        for name in score_names:
            wide = v.pivot(index="victim_id", columns="candidate_id", values=name)
            wide = wide.reindex(index=vids, columns=cids)
            if wide.isna().any().any():
                raise ValueError(f"scores: arm {arm!r} lacks {name!r} for some (victim, "
                                 "candidate) of the membership table")
            out[f"{arm}:{name}"] = wide.to_numpy(np.float64)
        ref = ref.reindex(cids)
        if ref.isna().any():
            raise ValueError(f"scores: arm {arm!r} lacks the released checkpoint's neg_loss "
                             f"for candidates {ref.index[ref.isna()][:5].tolist()}")
        out[f"{arm}:calibrated"] = out[f"{arm}:neg_loss"] - ref.to_numpy()
    is_target = targets.reindex(cids)
    if is_target.isna().any():
        raise ValueError("candidates: the membership table names candidates "
                         f"{is_target.index[is_target.isna()][:5].tolist()} the pool lacks")
    is_target = is_target.to_numpy(bool)
    half = np.full(len(cids), -1)
    order = rng(seed, "bd-best-halves").permutation(np.flatnonzero(is_target))
    half[order[: len(order) // 2]], half[order[len(order) // 2:]] = 0, 1
    return BackdoorGrid(out, member.to_numpy(bool), vids // 2, is_target, half, cids)


def grid_weights(grid: BackdoorGrid, n_boot: int, g: np.random.Generator) -> np.ndarray:
    """[B, V, C] weights of the two-way cluster bootstrap: victim pairs × candidates, the
    candidates resampled within each group (targets, non-targets)."""
    clusters, cid = np.unique(grid.victim_cluster, return_inverse=True)
    wv = g.multinomial(len(clusters), np.full(len(clusters), 1 / len(clusters)),
                       size=n_boot)[:, cid]
    wc = np.zeros((n_boot, len(grid.target)), dtype=np.int64)
    for group in (grid.target, ~grid.target):
        idx = np.flatnonzero(group)
        if len(idx):
            wc[:, idx] = g.multinomial(len(idx), np.full(len(idx), 1 / len(idx)), size=n_boot)
    return (wv[:, :, None] * wc[:, None, :]).astype(np.float32)


@dataclass
class _Cell:
    estimate: dict[str, float]
    draws: dict[str, np.ndarray]
    evidence: dict[str, tuple[int, int]]


def _cell(grid: BackdoorGrid, w: np.ndarray, attack: str, cols: np.ndarray,
          fprs: list[float]) -> _Cell:
    s = grid.scores[attack][:, cols].reshape(-1)
    y = grid.member[:, cols].reshape(-1)
    pts = np.broadcast_to(grid.candidate_ids[cols], (len(grid.member), cols.sum())).reshape(-1)
    est = weighted_metrics(s, y, np.ones((1, len(s))), fprs, pts)
    boot = weighted_metrics(s, y, w[:, :, cols].reshape(len(w), -1), fprs, pts)
    ev = {tpr_key(f): evidence(s, y, pts, f) for f in fprs}
    return _Cell({k: float(v[0]) for k, v in est.items()}, boot, ev)


def select_best(grid: BackdoorGrid, arm: str, score_names: tuple[str, ...], fpr: float
                ) -> tuple[str, str]:
    """The score each half of the targets uses for ``arm``: chosen on the *other* half by
    TPR at ``fpr``, then AUC, then the order of ``score_names``."""
    picks = []
    for h in (0, 1):
        cols = grid.half == 1 - h
        y = grid.member[:, cols].reshape(-1)
        pts = np.broadcast_to(grid.candidate_ids[cols], (len(grid.member), cols.sum()))
        keyed = []
        for i, name in enumerate(score_names):
            m = weighted_metrics(grid.scores[f"{arm}:{name}"][:, cols].reshape(-1), y,
                                 np.ones((1, len(y))), [fpr], pts.reshape(-1))
            keyed.append((-m[tpr_key(fpr)][0], -m["auc"][0], i, name))
        picks.append(min(keyed)[3])
    return picks[0], picks[1]


def _resampled_picks(halves: dict[str, _Cell], names: tuple[str, ...], fpr: float
                     ) -> np.ndarray:
    """[B] index into ``names`` of the score :func:`select_best`'s rule picks on one half of
    the targets in each bootstrap resample: highest TPR at ``fpr``, then AUC, then order."""
    tpr = np.stack([halves[n].draws[tpr_key(fpr)] for n in names])
    auc = np.stack([halves[n].draws["auc"] for n in names])
    top = tpr == tpr.max(axis=0)
    auc = np.where(top, auc, -np.inf)
    return np.argmax(top & (auc == auc.max(axis=0)), axis=0)  # first of the ties


def _best_cell(grid: BackdoorGrid, w: np.ndarray, arm: str, names: tuple[str, ...],
               pick: tuple[str, str], fprs: list[float]) -> _Cell:
    """``best`` of one arm: each target half scored with the score picked on the other half.
    The estimate uses ``pick`` (the rule on the observed data); every bootstrap resample
    re-runs the rule on its own resampled other half, so the selection's variance is inside
    the interval."""
    halves = [{n: _cell(grid, w, f"{arm}:{n}", grid.half == h, fprs) for n in names}
              for h in (0, 1)]
    draws: dict[str, np.ndarray] = {}
    for h in (0, 1):
        chosen = _resampled_picks(halves[1 - h], names, fprs[0])
        for k in halves[h][names[0]].draws:
            stacked = np.stack([halves[h][n].draws[k] for n in names])
            draws[k] = draws.get(k, 0) + stacked[chosen, np.arange(len(chosen))] / 2
    used = [halves[h][n] for h, n in enumerate(pick)]
    return _Cell(
        {k: float(np.mean([c.estimate[k] for c in used])) for k in used[0].estimate},
        draws,
        # each half is its own ROC: the pair is only as good as its thinner half
        {k: tuple(map(min, zip(*(c.evidence[k] for c in used), strict=True)))
         for k in used[0].evidence})


def candidate_scores(score_names: tuple[str, ...]) -> tuple[str, ...]:
    """Every score the attacker can compute: the pipeline's scores and the calibrated one."""
    return (*score_names, "calibrated")


def resample_replicates(grids: list[BackdoorGrid], seeds: list[int],
                        score_names: tuple[str, ...], fprs: list[float], n_boot: int
                        ) -> tuple[Resamples, dict[int, dict[str, tuple[str, str]]]]:
    """Estimates, paired cluster-bootstrap draws and evidence of every ``<group>/<arm>:<score>``
    (and ``targets/<arm>:best``) in every replicate; and each replicate's best-score picks."""
    names = candidate_scores(score_names)
    res = Resamples([f"seed-{s}" for s in seeds])
    per: dict[tuple[str, str], list] = {}
    picks: dict[int, dict[str, tuple[str, str]]] = {}
    for grid, seed in zip(grids, seeds, strict=True):
        w = grid_weights(grid, n_boot, rng(seed, "bd-bootstrap"))
        cells: dict[str, _Cell] = {}
        for group, cols in (("targets", grid.target), ("non_targets", ~grid.target)):
            if not cols.any():
                continue
            for arm in ARMS:
                for name in names:
                    cells[f"{group}/{arm}:{name}"] = _cell(grid, w, f"{arm}:{name}", cols, fprs)
        picks[seed] = {}
        for arm in ARMS:
            pick = select_best(grid, arm, names, fprs[0])
            picks[seed][arm] = pick
            cells[f"targets/{arm}:{BEST}"] = _best_cell(grid, w, arm, names, pick, fprs)
        for attack, c in cells.items():
            for metric, value in c.estimate.items():
                ev = c.evidence.get(metric, (np.nan, np.nan))
                per.setdefault((attack, metric), []).append((value, c.draws[metric], ev))
    for key, rows in per.items():
        if len(rows) != len(grids):
            raise ValueError(f"{key[0]}: missing from some replicate (groups must agree)")
        res.estimate[key] = np.array([r[0] for r in rows])
        res.draws[key] = np.stack([r[1] for r in rows])
        res.negatives[key] = np.array([r[2][0] for r in rows], dtype=np.float64)
        res.negative_points[key] = np.array([r[2][1] for r in rows], dtype=np.float64)
    return res, picks


def _rows(replicate: int, group: str, attack: str, metric: str, s) -> dict:
    return {"replicate": replicate, "candidates": group, "attack": attack, "metric": metric,
            "value": s.value, "low": s.low, "high": s.high, "negatives": s.negatives,
            "negative_points": s.negative_points, "reliable": s.reliable}


def backdoor_table(grids: list[BackdoorGrid], seeds: list[int], score_names: tuple[str, ...],
                   fprs: list[float], n_boot: int, confidence: float
                   ) -> tuple[pd.DataFrame, dict[int, dict[str, tuple[str, str]]]]:
    """The ``bd_metrics`` table (replicate −1 = the mean over replicates) and the best-score
    picks. Rows: every group/arm/score's metrics; ``amplification:<score>`` = poisoned
    against clean on the same resamples (TPR ratio, AUC and balanced-accuracy difference),
    ``best`` first; ``specificity:<score>`` = the poisoned arm's targets against its
    non-targets (is the amplification aimed at the targets?)."""
    res, picks = resample_replicates(grids, seeds, score_names, fprs, n_boot)
    index = hierarchical_index(len(seeds), n_boot,
                               rng(seeds[0], "bd-hierarchical", *seeds))
    units = [*seeds, -1]
    rows: list[dict] = []

    def emit(group: str, attack: str, metric: str, found) -> None:
        rows.extend(_rows(u, group, attack, metric, s) for u, s in zip(units, found,
                                                                          strict=True))

    names = (BEST, *candidate_scores(score_names))
    metrics = list(dict.fromkeys(m for _, m in res.estimate))
    for group in GROUPS:
        for name in names:
            a, b = f"{group}/poisoned:{name}", f"{group}/clean:{name}"
            if (a, "auc") not in res.estimate:
                continue
            for metric in metrics:
                kind = "ratio" if is_tpr(metric) else "diff"
                emit(group, f"amplification:{name}", f"{metric}_{kind}",
                     paired(res, a, b, metric, confidence, index))
        for name in names:
            for arm in ARMS:
                key = f"{group}/{arm}:{name}"
                if (key, "auc") not in res.estimate:
                    continue
                for metric in metrics:
                    emit(group, f"{arm}:{name}", metric,
                         [*per_unit(res, (key, metric), confidence),
                          combined(res, (key, metric), index, confidence)])
    for name in candidate_scores(score_names):
        a, b = f"targets/poisoned:{name}", f"non_targets/poisoned:{name}"
        if (b, "auc") in res.estimate:
            for metric in metrics:
                kind = "ratio" if is_tpr(metric) else "diff"
                emit("targets", f"specificity:{name}", f"{metric}_{kind}",
                     paired(res, a, b, metric, confidence, index))
    return pd.DataFrame(rows), picks
