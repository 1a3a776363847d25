"""The one-run DP audit of a backdoor audit's victims (docs/dp-auditing.md): did the victims'
DP guarantee hold, and does a poisoned checkpoint bring a black-box audit closer to it?

Each victim is one training run whose canaries are the targets, each included independently
with probability ½ (``victims.membership: bernoulli``). On the audit's own black-box score
(``evaluate.dp_audit.score``) the auditor guesses IN for the k₊ highest targets and OUT for the
k₋ lowest, k₊ = k₋ fixed in advance (``guess_fraction``). Victims train on disjoint,
independently drawn inclusion bits, so their guesses pool into one audit (parallel
composition: :meth:`leakaudit.core.dp_bounds.OneRunCounts.__add__`); replicates pool the same
way. Each arm gets its ε lower bound with the ceiling of its trials; the arms are compared by
the paired difference in correct-guess rate (same victims, same canaries), with a bootstrap
over victims — a ratio of two bounds near 0 would mean nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leakaudit.backdoor.analysis import BackdoorGrid
from leakaudit.backdoor.arms import ARMS
from leakaudit.core.dp_bounds import OneRunCounts, one_run_ceiling, one_run_counts, one_run_epsilon
from leakaudit.core.seeds import rng

AUDIT = "dp_audit"  # attack prefix of its rows: dp_audit:<arm>, dp_audit:difference


class ClaimViolated(RuntimeError):
    """An empirical lower bound above the claimed ε: the training or its accountant is broken."""


def guesses_per_side(canaries: int, fraction: float) -> int:
    """k₊ = k₋ for a victim with ``canaries`` canaries."""
    return max(1, round(fraction * canaries / 2))


def victim_counts(grid: BackdoorGrid, arm: str, score: str, fraction: float
                  ) -> list[OneRunCounts]:
    """Each victim's one-run counts on the targets of ``arm`` under ``score``."""
    s = grid.scores[f"{arm}:{score}"][:, grid.target]
    y = grid.member[:, grid.target]
    k = guesses_per_side(int(grid.target.sum()), fraction)
    return [one_run_counts(s[v], y[v], k, k) for v in range(len(s))]


def _row(seed: int, attack: str, metric: str, value: float, low: float | None = None,
         high: float | None = None) -> dict:
    return {"replicate": seed, "candidates": "targets", "attack": attack, "metric": metric,
            "value": float(value), "low": float(value if low is None else low),
            "high": float(value if high is None else high), "negatives": np.nan,
            "negative_points": np.nan, "reliable": True}


def _rate_draws(counts: dict[str, list[OneRunCounts]], n_boot: int, g: np.random.Generator
                ) -> dict[str, np.ndarray]:
    """Bootstrap draws of each arm's pooled correct-guess rate, victims resampled (the same
    victims in both arms: paired)."""
    n = len(counts[ARMS[0]])
    idx = g.integers(n, size=(n_boot, n))
    out = {}
    for arm, cs in counts.items():
        correct = np.array([c.correct for c in cs], dtype=float)
        made = np.array([c.guesses for c in cs], dtype=float)
        out[arm] = correct[idx].sum(1) / made[idx].sum(1)
    return out


def dp_audit_rows(grids: dict[int, BackdoorGrid], p: Any) -> pd.DataFrame:
    """The audit's rows in the ``bd_metrics`` layout, per replicate and pooled (replicate −1):
    per arm ``epsilon_lb``, its ``ceiling``, ``correct_rate`` (with its interval), the
    ``correct`` and ``guesses`` behind them and the ``canaries``; ``dp_audit:difference``:
    ``correct_rate_diff`` (poisoned − clean) with its paired interval. ``p``: the audit's
    params (victims.dp, evaluate)."""
    e, dp = p.evaluate, p.victims.dp
    a = e.dp_audit
    rows: list[dict] = []
    pooled: dict[str, list[OneRunCounts]] = {arm: [] for arm in ARMS}
    seeds = sorted(grids)
    for seed in [*seeds, -1]:
        if seed == -1:
            counts = pooled
        else:
            counts = {arm: victim_counts(grids[seed], arm, a.score, a.guess_fraction)
                      for arm in ARMS}
            for arm in ARMS:
                pooled[arm] += counts[arm]
        draws = _rate_draws(counts, e.bootstrap, rng(max(seed, 0), "dp-audit-bootstrap"))
        for arm in ARMS:
            total = sum(counts[arm], OneRunCounts(0, 0, 0))
            lo, hi = np.quantile(draws[arm], [(1 - e.confidence) / 2, (1 + e.confidence) / 2])
            rows += [
                _row(seed, f"{AUDIT}:{arm}", "epsilon_lb",
                     one_run_epsilon(total, dp.delta, e.confidence)),
                _row(seed, f"{AUDIT}:{arm}", "ceiling",
                     one_run_ceiling(total.canaries, total.guesses, dp.delta, e.confidence)),
                _row(seed, f"{AUDIT}:{arm}", "correct_rate", total.accuracy, lo, hi),
                _row(seed, f"{AUDIT}:{arm}", "correct", total.correct),
                _row(seed, f"{AUDIT}:{arm}", "guesses", total.guesses),
                _row(seed, f"{AUDIT}:{arm}", "canaries", total.canaries),
            ]
        diff = draws["poisoned"] - draws["clean"]
        est = (sum(c.correct for c in counts["poisoned"]) - sum(c.correct for c in counts["clean"])
               ) / sum(c.guesses for c in counts["clean"])
        lo, hi = np.quantile(diff, [(1 - e.confidence) / 2, (1 + e.confidence) / 2])
        rows.append(_row(seed, f"{AUDIT}:difference", "correct_rate_diff", est, lo, hi))
    return pd.DataFrame(rows)


def violations(grids: dict[int, BackdoorGrid], p: Any) -> list[str]:
    """Victims (``seed-<s>/<arm>/v<k>``) whose own bound exceeds the claimed ε, each at the
    confidence corrected for every victim tested (Bonferroni), and arms whose pooled bound
    does; empty without DP."""
    dp, e = p.victims.dp, p.evaluate
    if not dp.enabled:
        return []
    found = []
    n_tests = sum(len(g.member) for g in grids.values()) * len(ARMS)
    for seed, grid in sorted(grids.items()):
        for arm in ARMS:
            counts = victim_counts(grid, arm, e.dp_audit.score, e.dp_audit.guess_fraction)
            found += [f"seed-{seed}/{arm}/v{v:03d}" for v, c in enumerate(counts)
                      if one_run_epsilon(c, dp.delta, e.confidence, n_tests) > dp.epsilon]
            pooled = sum(counts, OneRunCounts(0, 0, 0))
            if one_run_epsilon(pooled, dp.delta, e.confidence, len(ARMS) * len(grids)
                               ) > dp.epsilon:
                found.append(f"seed-{seed}/{arm} (pooled)")
    return found


def check_claim(grids: dict[int, BackdoorGrid], p: Any) -> None:
    """Raise :class:`ClaimViolated` naming the victims whose bound exceeds the claimed ε."""
    bad = violations(grids, p)
    if bad:
        raise ClaimViolated(
            f"victims.dp.epsilon {p.victims.dp.epsilon}: the one-run audit's 95 % lower bound "
            f"exceeds the claimed ε for {', '.join(bad)} — the DP training or its accountant "
            "is broken (see metrics.json dp_audit)")
