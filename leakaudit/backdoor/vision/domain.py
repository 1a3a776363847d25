"""The vision audit's domain (:class:`leakaudit.backdoor.domain.Domain`): Fashion-MNIST's
training images as the pool, a seeded sample of its test images as the stealth set, and a small
CNN pretrained here on its own part of the pool (or your checkpoint, ``cnn.checkpoint``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from leakaudit.backdoor.vision.data import (
    N_CLASSES,
    Images,
    candidate_images,
    heldout_indices,
    load_split,
    split_indices,
)


class ImageDomain:
    n_classes = N_CLASSES
    seed_prefix = "vision"

    def parts(self, p: Any, n_decoys: int = 0) -> dict[str, np.ndarray]:
        return split_indices(p.images, p.targets.n_candidates, p.base.seed, n_decoys=n_decoys)

    def labels(self, p: Any) -> np.ndarray:
        return load_split(p.images.path, "train").y

    def examples(self, p: Any, idx: np.ndarray) -> Images:
        return load_split(p.images.path, "train").take(idx)

    def heldout(self, p: Any) -> Images:
        return load_split(p.images.path, "test").take(heldout_indices(p.images, p.base.seed))

    def candidates(self, p: Any, source_index: np.ndarray) -> np.ndarray:
        return candidate_images(p.images.path, source_index, p.targets.transform)

    def base_model(self, p: Any, device: Any) -> tuple[Any, dict, dict]:
        import torch

        from leakaudit.backdoor.vision import model as classifier
        from leakaudit.core.seeds import seed_int, torch_generator

        if p.cnn.checkpoint:
            model, config = classifier.load(p.cnn.checkpoint)
            return model, config, {"checkpoint": p.cnn.checkpoint}
        part = self.examples(p, self.parts(p)["pretrain"])
        torch.manual_seed(seed_int(p.base.seed, "vision-init"))
        config = classifier.config_of(p.cnn.channels, p.cnn.feature_dim)
        model = classifier.build(p.cnn.channels, p.cnn.feature_dim).to(device)
        c = p.cnn_pretrain
        classifier.fit(model, part.x, part.y, c.epochs, c.batch_size, c.lr,
                       torch_generator(p.base.seed, "vision-pretrain"), device)
        return model, config, {"checkpoint": None, "trained_on": "images.pretrain"}

    def data_settings(self, p: Any) -> list[Any]:
        return [p.images.model_dump(), p.targets.transform]


IMAGES = ImageDomain()
