"""Balanced membership masks every audit draws: models (or victims) in complementary pairs,
each point a member of exactly one model of every pair."""

from __future__ import annotations

import numpy as np

from leakaudit.core.seeds import rng


def balanced_mask(n_points: int, n_models: int, seed: int, purpose: str) -> np.ndarray:
    """Bool mask [point, model]: every point IN for exactly half the models, built so an audit
    can grow.

    Models come in complementary pairs (2j, 2j+1): pair j draws its own seeded permutation of the
    points, gives the first half to model 2j and the rest to model 2j+1. So each point is IN for
    exactly one model of every pair (M/2 in all), each model trains on half the pool, and the
    columns of the first M models are the same for any larger M: adding models never changes
    (or retrains) the existing ones.
    """
    if n_models % 2:
        raise ValueError(f"n_models must be even for a balanced mask, got {n_models}")
    mask = np.zeros((n_points, n_models), dtype=bool)
    for j in range(n_models // 2):
        order = rng(seed, purpose, j).permutation(n_points)
        first = np.zeros(n_points, dtype=bool)
        first[order[: n_points // 2]] = True
        if n_points % 2:  # the odd point out goes to either model by a seeded coin
            first[order[-1]] = bool(rng(seed, purpose + "-odd", j).integers(2))
        mask[:, 2 * j], mask[:, 2 * j + 1] = first, ~first
    return mask


def partner(model: np.ndarray | int) -> np.ndarray | int:
    """The complementary model of each model's pair (2j ↔ 2j + 1, see :func:`balanced_mask`)."""
    return np.bitwise_xor(model, 1)
