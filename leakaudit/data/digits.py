"""scikit-learn's bundled 8×8 digits, with fixed per-sample noise, downstream = digit mod 5."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from leakaudit.data.transfer import TransferData
from leakaudit.seeds import rng


def load(noise_std: float, seed: int) -> TransferData:
    """Load digits; each image gets one fixed Gaussian noise draw (seeded), making it unique.

    The noise is part of the data set, not an augmentation: it is what a model can memorise.
    """
    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    if noise_std > 0:
        x = x + rng(seed, "digits-noise").normal(0.0, noise_std, size=x.shape).astype(np.float32)
    y = bunch.target.astype(np.int64)
    return TransferData(
        up_x=x, up_y=y, n_up_classes=10,
        down_x=x, down_y=y % 5, n_down_classes=5,
        same_collection=True, name="digits",
    )
