"""Empirical ε lower bounds (leakaudit/core/dp_bounds.py): ceilings, guesses, and the
randomized-response self-check the spec asks for (ε_lb ≤ ε in ≥ 95 % of runs)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from leakaudit.core.dp_bounds import (
    OneRunCounts,
    RunCounts,
    guesses,
    one_run_ceiling,
    one_run_counts,
    one_run_epsilon,
    two_ratio_ceiling,
    two_ratio_epsilon,
)

RUNS = 1000


def _randomized_response(bits: np.ndarray, epsilon: float, rng: np.random.Generator
                         ) -> np.ndarray:
    """Each ±1 bit reported truthfully with probability e^ε/(1 + e^ε): exactly ε-DP per bit."""
    keep = rng.random(bits.shape) < 1 / (1 + np.exp(-epsilon))
    return np.where(keep, bits, -bits)


@pytest.mark.parametrize(("n", "ceiling"), [(16, 1.35), (100, 3.28), (1000, 5.6)])
def test_over_runs_ceiling_is_what_n_runs_allow(n: int, ceiling: float) -> None:
    """Issue 35's figures: a perfect attack over n IN and n OUT runs reaches ln(c/(1 − c))."""
    assert two_ratio_ceiling(n, n, 1e-5) == pytest.approx(ceiling, abs=0.01)


def test_two_ratio_bound_uses_both_ratios_and_delta() -> None:
    perfect = RunCounts(100, 100, 0, 100)
    mirrored = RunCounts(50, 100, 0, 100)  # half the INs found, no false alarm
    assert two_ratio_epsilon(perfect, 0.0) == pytest.approx(two_ratio_ceiling(100, 100, 0.0))
    assert two_ratio_epsilon(mirrored, 0.0) > 0
    assert two_ratio_epsilon(RunCounts(50, 100, 50, 100), 0.0) == 0.0
    # a large δ eats the direct ratio: δ is subtracted before the log
    assert two_ratio_epsilon(mirrored, 0.3) < two_ratio_epsilon(mirrored, 0.0)


def test_guesses_take_the_top_and_bottom_and_count_right() -> None:
    scores = np.array([0.9, 0.1, 0.5, 0.8, 0.2, 0.6])
    assert guesses(scores, 2, 1).tolist() == [1, -1, 0, 1, 0, 0]
    included = np.array([True, False, False, True, True, False])
    c = one_run_counts(scores, included, 2, 2)
    assert (c.guesses, c.correct) == (4, 3)  # 0.9, 0.8 IN right; 0.1 OUT right; 0.2 OUT wrong
    flipped = one_run_counts(scores, ~included, 2, 2)
    assert flipped.correct == 1
    with pytest.raises(ValueError, match="k_pos"):
        guesses(scores, 4, 3)


def test_one_run_bound_grows_with_correct_guesses_and_pools() -> None:
    weak, strong = OneRunCounts(1000, 200, 120), OneRunCounts(1000, 200, 180)
    assert 0 < one_run_epsilon(weak, 1e-5) < one_run_epsilon(strong, 1e-5)
    assert one_run_epsilon(OneRunCounts(1000, 200, 100), 1e-5) == 0.0  # coin flipping
    assert one_run_epsilon(strong, 1e-5) <= one_run_ceiling(1000, 200, 1e-5)
    # Bonferroni over a grid of guess counts costs bound
    assert one_run_epsilon(strong, 1e-5, hypotheses=10) < one_run_epsilon(strong, 1e-5)
    # four runs' worth of the same evidence is stronger evidence
    assert one_run_epsilon(weak + weak + weak + weak, 1e-5) > one_run_epsilon(weak, 1e-5)
    # δ loosens the bound, by more with more canaries
    assert one_run_epsilon(OneRunCounts(10**6, 200, 180), 1e-5) < one_run_epsilon(strong, 1e-5)


def _one_run_bounds(epsilon: float, m: int, seed: int) -> np.ndarray:
    """RUNS one-run audits of m randomized-response canaries, guessing all (k₊ = k₋ = m/2)."""
    rng = np.random.default_rng(seed)
    bits = np.where(rng.random((RUNS, m)) < 0.5, 1, -1)
    scores = _randomized_response(bits, epsilon, rng) + 1e-3 * rng.random((RUNS, m))
    counts = [one_run_counts(s, b == 1, m // 2, m // 2) for s, b in zip(scores, bits, strict=True)]
    return np.array([_one_run_bound(c) for c in counts])


@functools.cache
def _one_run_bound(counts: OneRunCounts) -> float:
    return one_run_epsilon(counts, 1e-5)


@pytest.mark.parametrize("epsilon", [1.0, 4.0])
def test_one_run_bound_holds_on_randomized_response(epsilon: float) -> None:
    small = _one_run_bounds(epsilon, 100, seed=1)
    large = _one_run_bounds(epsilon, 2000, seed=2)
    for bounds in (small, large):
        assert np.mean(bounds <= epsilon) >= 0.95
    assert np.median(large) > np.median(small)  # approaches ε as canaries grow
    assert np.median(large) > 0.6 * epsilon


@functools.cache
def _two_ratio_bound(counts: RunCounts) -> float:
    return two_ratio_epsilon(counts, 1e-5)


def test_two_ratio_bound_holds_on_randomized_response() -> None:
    epsilon, rng = 2.0, np.random.default_rng(3)
    q = 1 / (1 + np.exp(-epsilon))
    medians = []
    for n in (30, 3000):
        tp, fp = rng.binomial(n, q, RUNS), rng.binomial(n, 1 - q, RUNS)
        bounds = np.array([_two_ratio_bound(RunCounts(int(a), n, int(b), n))
                           for a, b in zip(tp, fp, strict=True)])
        assert np.mean(bounds <= epsilon) >= 0.95
        medians.append(np.median(bounds))
    assert medians[1] > medians[0] and medians[1] > 0.8 * epsilon
