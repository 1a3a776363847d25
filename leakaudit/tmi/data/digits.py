"""scikit-learn's bundled 8×8 digits, with fixed per-sample noise, downstream = digit mod 5."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from leakaudit.core.seeds import rng
from leakaudit.tmi.data.transfer import TransferData


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images (0–16) and targets, read from the CSV inside the sklearn wheel without
    importing sklearn (saves ~1 s per stage process); falls back to ``load_digits``."""
    spec = importlib.util.find_spec("sklearn")
    if spec and spec.submodule_search_locations:
        csv = Path(spec.submodule_search_locations[0]) / "datasets/data/digits.csv.gz"
        if csv.exists():
            raw = np.loadtxt(csv, delimiter=",")
            return raw[:, :-1].reshape(-1, 8, 8), raw[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def load(noise_std: float, seed: int) -> TransferData:
    """Load digits; each image gets one fixed Gaussian noise draw (seeded), making it unique.

    The noise is part of the data set, not an augmentation: it is what a model can memorise.
    """
    images, y = _read_digits()
    x = (images / 16.0).astype(np.float32)[:, None, :, :]
    if noise_std > 0:
        x = x + rng(seed, "digits-noise").normal(0.0, noise_std, size=x.shape).astype(np.float32)
    return TransferData(
        up_x=x, up_y=y, n_up_classes=10,
        down_x=x, down_y=y % 5, n_down_classes=5,
        same_collection=True, name="digits",
    )
