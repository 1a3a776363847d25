"""Empirical lower bounds on a differentially private training's ε, at a stated confidence.

Two designs (docs/dp-auditing.md, `../shared/spec/statistics.md`):

- **One run, many canaries** (Steinke, Nasr & Jagielski 2023, "Privacy Auditing with One (1)
  Training Run"): m canaries, each included *independently with probability ½*; the auditor
  guesses IN for its k₊ highest scores and OUT for its k₋ lowest, counts fixed in advance. If the
  training is (ε, δ)-DP with respect to each canary, the number of correct guesses W out of
  r = k₊ + k₋ satisfies P[W ≥ v] ≤ P[Bin(r, q) ≥ v] + 2mδ·max_i P[v − i ≤ Bin(r, q) < v] / i,
  q = e^ε / (1 + e^ε) (their main theorem; the δ term as in their p-value algorithm). The
  bound is the largest ε that this p-value rejects.
- **Over runs** (one canary decision per training run, n IN and n OUT runs): the conservative
  two-ratio bound from exact Clopper–Pearson limits on TPR and FPR, jointly at the confidence.

Each bound has a *ceiling*: what a perfect attack would reach with the same trials. A bound near
its ceiling says the design, not the training, limits it; print them side by side.

Written here rather than adopted: jax-privacy 2.0 (`jax_privacy.auditing`) has the one-run bound
but only one-sided (k₋ = 0) and brings jax into a torch tool; `bench/dp_bounds.py` cross-checks
this module against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

_EPS_MAX = 100.0  # beyond this every claim is trivially satisfied; the search stops here


@dataclass(frozen=True)
class OneRunCounts:
    """What a one-run audit rests on: canaries m, guesses r = k₊ + k₋, correct guesses v."""

    canaries: int
    guesses: int
    correct: int

    def __post_init__(self) -> None:
        if not 0 <= self.correct <= self.guesses <= self.canaries:
            raise ValueError(f"one-run counts need 0 ≤ correct ≤ guesses ≤ canaries, got "
                             f"{self.correct}, {self.guesses}, {self.canaries}")

    def __add__(self, other: OneRunCounts) -> OneRunCounts:
        """Pool two audits whose canaries are disjoint and independently included.

        Valid because training runs on disjoint canaries compose in parallel: changing one
        canary's inclusion changes one run only, so the runs together are one (ε, δ)-DP
        mechanism with respect to each canary of either.
        """
        return OneRunCounts(self.canaries + other.canaries, self.guesses + other.guesses,
                            self.correct + other.correct)

    @property
    def accuracy(self) -> float:
        """Fraction of the guesses that were right (NaN without guesses)."""
        return self.correct / self.guesses if self.guesses else float("nan")


def guesses(scores: np.ndarray, k_pos: int, k_neg: int) -> np.ndarray:
    """+1 (IN) for the k₊ highest scores, −1 (OUT) for the k₋ lowest, 0 (abstain) elsewhere.

    Ties are broken by position (stable), so a caller whose canary order is random breaks them
    at random; k₊ and k₋ must be fixed before the scores are seen.
    """
    scores = np.asarray(scores, dtype=float)
    if k_pos < 0 or k_neg < 0 or k_pos + k_neg > scores.size:
        raise ValueError(f"k_pos={k_pos} and k_neg={k_neg} must be ≥ 0 and together at most "
                         f"the {scores.size} canaries")
    order = np.argsort(-scores, kind="stable")
    out = np.zeros(scores.size, dtype=int)
    out[order[:k_pos]] = 1
    if k_neg:
        out[order[-k_neg:]] = -1
    return out


def one_run_counts(scores: np.ndarray, included: np.ndarray, k_pos: int,
                   k_neg: int) -> OneRunCounts:
    """Guess from the scores (higher = more likely IN) and count the correct guesses."""
    included = np.asarray(included, dtype=bool)
    g = guesses(scores, k_pos, k_neg)
    truth = np.where(included, 1, -1)
    return OneRunCounts(int(included.size), int(np.abs(g).sum()), int((g * truth == 1).sum()))


def one_run_p_value(counts: OneRunCounts, epsilon: float, delta: float) -> float:
    """P[≥ v correct guesses] at most, if the training were (ε, δ)-DP for each canary."""
    r, v = counts.guesses, counts.correct
    q = special.expit(epsilon)
    tail = float(stats.binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return tail
    i = np.arange(1, v + 1)
    below = stats.binom.sf(v - i - 1, r, q) - tail  # P[v − i ≤ Bin(r, q) < v]
    return min(1.0, tail + 2 * counts.canaries * delta * float(np.max(below / i)))


def one_run_epsilon(counts: OneRunCounts, delta: float, confidence: float = 0.95,
                    hypotheses: int = 1) -> float:
    """The largest ε the audit rejects at the confidence (0 if none).

    ``hypotheses``: how many (k₊, k₋) settings were tried on these scores — a Bonferroni
    correction; 1 when the counts were fixed in advance, as they should be.
    """
    _check(delta, confidence)
    alpha = (1 - confidence) / hypotheses

    def excess(eps: float) -> float:
        return alpha - one_run_p_value(counts, eps, delta)

    if excess(0.0) <= 0:
        return 0.0
    if excess(_EPS_MAX) > 0:
        return _EPS_MAX
    return float(optimize.brentq(excess, 0.0, _EPS_MAX, xtol=1e-6))


def one_run_ceiling(canaries: int, guesses_made: int, delta: float, confidence: float = 0.95,
                    hypotheses: int = 1) -> float:
    """The one-run bound a perfect attack would reach: every guess right."""
    return one_run_epsilon(OneRunCounts(canaries, guesses_made, guesses_made), delta,
                           confidence, hypotheses)


@dataclass(frozen=True)
class RunCounts:
    """One canary decision per training run, at a threshold fixed in advance."""

    true_positives: int
    positives: int  # runs that trained on the canary
    false_positives: int
    negatives: int  # runs that did not


def exact_interval(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Two-sided exact (Clopper–Pearson) interval of a binomial proportion."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def two_ratio_epsilon(c: RunCounts, delta: float, confidence: float = 0.95) -> float:
    """ε_lb = max(0, ln((TPR_low − δ)/FPR_high), ln((1 − FPR_high − δ)/(1 − TPR_low))).

    TPR_low and FPR_high are exact one-sided limits at (1 + confidence)/2 each, so the two hold
    jointly at the confidence (Bonferroni).
    """
    _check(delta, confidence)
    tpr_low, _ = exact_interval(c.true_positives, c.positives, confidence)
    _, fpr_high = exact_interval(c.false_positives, c.negatives, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log((tpr_low - delta) / fpr_high) if tpr_low > delta else -np.inf
        mirror = (np.log((1 - fpr_high - delta) / (1 - tpr_low))
                  if 1 - fpr_high > delta else -np.inf)
    return float(max(0.0, direct, mirror))


def two_ratio_ceiling(positives: int, negatives: int, delta: float,
                      confidence: float = 0.95) -> float:
    """The over-runs bound a perfect attack would reach with these many runs."""
    return two_ratio_epsilon(RunCounts(positives, positives, 0, negatives), delta, confidence)


def _check(delta: float, confidence: float) -> None:
    if not 0 <= delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
