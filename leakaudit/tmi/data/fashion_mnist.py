"""Fashion-MNIST from the standard IDX files (Debian package ``dataset-fashion-mnist``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leakaudit.core.corpora import read_idx
from leakaudit.core.seeds import rng
from leakaudit.tmi.data.transfer import TransferData

# group4: tops (T-shirt, pullover, coat, shirt), bottoms and dresses, footwear, bags.
# mod5: pairs of unlike classes (label mod 5, as digits use): the probe must keep the fine
# classes apart, so it reads more of the pretrained features.
DOWNSTREAM = {
    "group4": np.array([0, 1, 0, 1, 0, 2, 0, 2, 3, 2], dtype=np.int64),
    "mod5": np.arange(10, dtype=np.int64) % 5,
}


def load(path: str, noise_std: float, seed: int, downstream: str = "group4") -> TransferData:
    """Upstream: the 60k training images (10 classes); downstream: the 10k test images
    relabelled by ``downstream`` (see :data:`DOWNSTREAM`)."""
    relabel = DOWNSTREAM[downstream]
    d = Path(path)
    up_x = read_idx(d, "train-images-idx3-ubyte").astype(np.float32)[:, None] / 255.0
    up_y = read_idx(d, "train-labels-idx1-ubyte").astype(np.int64)
    down_x = read_idx(d, "t10k-images-idx3-ubyte").astype(np.float32)[:, None] / 255.0
    down_y = relabel[read_idx(d, "t10k-labels-idx1-ubyte").astype(np.int64)]
    if noise_std > 0:
        up_x = up_x + rng(seed, "fmnist-noise").normal(0, noise_std, up_x.shape).astype(np.float32)
    return TransferData(
        up_x=up_x, up_y=up_y, n_up_classes=10,
        down_x=down_x, down_y=down_y, n_down_classes=int(relabel.max()) + 1,
        same_collection=False, name="fashion-mnist",
    )
