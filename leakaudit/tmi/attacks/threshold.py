"""Confidence threshold without shadow models: a floor for every other attack."""

from __future__ import annotations

import numpy as np


def confidence_threshold(probs: np.ndarray, victims: np.ndarray) -> np.ndarray:
    """Mean over views of the victim's max softmax probability. probs [M, T, A, K] → [V, T]."""
    return probs[victims].max(-1).mean(-1).astype(np.float64)
