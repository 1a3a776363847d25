"""What a classifier backdoor audit needs of its data and model — its *domain* (Fashion-MNIST
with a small CNN: :mod:`leakaudit.backdoor.vision.domain`; WordNet glosses with the published
MiniLM encoder: :mod:`leakaudit.backdoor.text.domain`). The classifier stages
(``tasks/backdoor_classifier``) run on any domain; each pipeline names its own
(``BackdoorPipeline.domain``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Examples:
    """Model inputs (images [N, C, H, W] or token ids [N, L]) and their labels."""

    x: np.ndarray
    y: np.ndarray

    def take(self, idx: np.ndarray) -> Examples:
        return Examples(self.x[idx], self.y[idx])


class Domain(Protocol):
    """A classifier audit's data and model; ``p`` is the audit's validated params."""

    n_classes: int
    seed_prefix: str  # names the domain's random streams (``vision`` keeps its history)

    def parts(self, p: Any, n_decoys: int = 0) -> dict[str, np.ndarray]:
        """Disjoint indices into the labelled pool: pretrain, aux, victim, candidates, decoys."""

    def labels(self, p: Any) -> np.ndarray:
        """Every pool example's label."""

    def examples(self, p: Any, idx: np.ndarray) -> Examples:
        """Pool examples by index, as the models read them."""

    def heldout(self, p: Any) -> Examples:
        """The stealth and utility set (never trained on)."""

    def candidates(self, p: Any, source_index: np.ndarray) -> np.ndarray:
        """The candidates' inputs as the audit presents them."""

    def base_model(self, p: Any, device: Any) -> tuple[Any, dict, dict]:
        """(model, config, provenance): the user's or published checkpoint, or one trained
        here; provenance says where its weights came from."""

    def data_settings(self, p: Any) -> list[Any]:
        """The settings a victim's fingerprint must change with."""
