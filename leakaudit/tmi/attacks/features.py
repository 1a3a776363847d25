"""The TMI feature transform."""

from __future__ import annotations

import numpy as np


def scaled_logodds(logodds: np.ndarray) -> np.ndarray:
    """u = s / max(1, ‖s‖₂) over the class axis (last)."""
    norm = np.linalg.norm(logodds.astype(np.float64), axis=-1, keepdims=True)
    return (logodds / np.maximum(1.0, norm)).astype(np.float32)
