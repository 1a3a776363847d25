"""Fashion-MNIST for the vision backdoor audit: seeded disjoint splits of the training images
(pretraining, the poisoner's aux data, the victims' generic data, the candidate pool), the
held-out stealth set from the test images, and the random labels a poisoner trains towards."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leakaudit.backdoor.domain import Examples
from leakaudit.backdoor.vision.config import ImagesParams
from leakaudit.core.corpora import read_idx
from leakaudit.core.seeds import disjoint_parts, rng

N_CLASSES = 10


Images = Examples  # images [N, 1, 28, 28] in [0, 1] and their labels


def load_split(path: str, split: str) -> Images:
    """The 60k ``train`` or 10k ``test`` images of Fashion-MNIST."""
    stem = "train" if split == "train" else "t10k"
    x = read_idx(Path(path), f"{stem}-images-idx3-ubyte", "images.path")
    x = x.astype(np.float32)[:, None] / 255.0
    y = read_idx(Path(path), f"{stem}-labels-idx1-ubyte", "images.path").astype(np.int64)
    return Images(x, y)


def split_indices(p: ImagesParams, n_candidates: int, seed: int, n_train: int = 60000,
                  n_decoys: int = 0) -> dict[str, np.ndarray]:
    """Disjoint index sets into the training images: pretrain, aux, victim, candidates and
    ``n_decoys`` decoys (in that order of a seeded permutation, so growing one part never
    moves another's start)."""
    sizes = {**p.sizes(exclude=("heldout",)), "candidates": n_candidates, "decoys": n_decoys}
    return {name: np.sort(idx) for name, idx in
            disjoint_parts(seed, "vision-splits", n_train, sizes).items()}


def heldout_indices(p: ImagesParams, seed: int, n_test: int = 10000) -> np.ndarray:
    """The stealth set: a seeded sample of the test images."""
    return np.sort(rng(seed, "vision-heldout").choice(n_test, p.heldout, replace=False))


def transform(x: np.ndarray, kind: str) -> np.ndarray:
    """Candidate images as the audit sees them: unchanged, or inverted (1 − x, out of
    distribution for Fashion-MNIST's dark backgrounds)."""
    if kind == "none":
        return x
    if kind == "invert":
        return 1.0 - x
    raise ValueError(f"targets.transform: got {kind!r}; allowed: 'none', 'invert'")


def random_wrong_labels(y: np.ndarray, seed: int, n_classes: int = N_CLASSES) -> np.ndarray:
    """A seeded label ≠ the true one for every image (what `random_label` poisoning trains)."""
    shift = rng(seed, "vision-random-labels").integers(1, n_classes, size=len(y))
    return (y + shift) % n_classes


def candidate_images(path: str, source_index: np.ndarray, kind: str) -> np.ndarray:
    """The candidates' images (training images by index) as the audit sees them."""
    return transform(load_split(path, "train").x[source_index], kind)
