"""The data contract every source returns (images or token ids)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TransferData:
    """An upstream (pretraining) collection and a downstream (finetuning) collection.

    Images are float32 arrays shaped N×C×H×W in [0, 1] (plus any fixed noise); texts are int64
    token ids shaped N×L (0 = padding) with ``vocab_size`` > 0. When
    ``same_collection`` is true both views index the same images, and splits must keep the
    pretraining and downstream parts disjoint.
    """

    up_x: np.ndarray
    up_y: np.ndarray
    n_up_classes: int
    down_x: np.ndarray
    down_y: np.ndarray
    n_down_classes: int
    same_collection: bool
    name: str
    vocab_size: int = 0  # > 0 for token-id inputs

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one input: C×H×W for images, (L,) for token ids."""
        return tuple(self.up_x.shape[1:])

    @property
    def is_text(self) -> bool:
        return self.vocab_size > 0
