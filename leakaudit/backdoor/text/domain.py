"""The text audit's domain (:class:`leakaudit.backdoor.domain.Domain`): WordNet glosses
labelled with their lexicographer category as the pool (disjoint seeded parts, the held-out
stealth set among them), tokenised by the published encoder's tokenizer; the clean release is
the published encoder, unchanged, under a linear head fitted on the ``pretrain`` glosses."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from leakaudit.backdoor.domain import Examples
from leakaudit.core.corpora import read_glosses
from leakaudit.core.seeds import disjoint_parts

N_CLASSES = 45  # WordNet's lexicographer files


@lru_cache(maxsize=2)
def _glosses(path: str) -> tuple[tuple[str, ...], np.ndarray]:
    texts, lex, _ = read_glosses(path, "glosses.wordnet_path")
    return tuple(texts), lex


class GlossDomain:
    n_classes = N_CLASSES
    seed_prefix = "text"

    def parts(self, p: Any, n_decoys: int = 0) -> dict[str, np.ndarray]:
        texts, _ = _glosses(p.glosses.wordnet_path)
        sizes = {**p.glosses.sizes(), "candidates": p.targets.n_candidates,
                 "decoys": n_decoys}
        return {name: np.sort(idx) for name, idx in
                disjoint_parts(p.base.seed, "text-splits", len(texts), sizes).items()}

    def labels(self, p: Any) -> np.ndarray:
        return _glosses(p.glosses.wordnet_path)[1]

    def tokens(self, p: Any, idx: np.ndarray) -> np.ndarray:
        """Token ids [N, glosses.max_length] of the glosses ``idx``."""
        from leakaudit.backdoor.text.model import tokenizer

        texts, _ = _glosses(p.glosses.wordnet_path)
        tok = tokenizer(p.encoder.checkpoint, p.glosses.max_length)
        ids = [e.ids for e in tok.encode_batch([texts[i] for i in idx])]
        return np.asarray(ids, dtype=np.int64).reshape(len(idx), p.glosses.max_length)

    def examples(self, p: Any, idx: np.ndarray) -> Examples:
        return Examples(self.tokens(p, idx), self.labels(p)[idx])

    def heldout(self, p: Any) -> Examples:
        return self.examples(p, self.parts(p)["heldout"])

    def candidates(self, p: Any, source_index: np.ndarray) -> np.ndarray:
        return self.tokens(p, source_index)

    def base_model(self, p: Any, device: Any) -> tuple[Any, dict, dict]:
        import torch

        from leakaudit.backdoor.finetuning import MODES
        from leakaudit.backdoor.text.model import from_published
        from leakaudit.backdoor.vision import model as classifier
        from leakaudit.core.seeds import seed_int, torch_generator

        torch.manual_seed(seed_int(p.base.seed, "text-head-init"))
        model, config, provenance = from_published(p.encoder.checkpoint, self.n_classes)
        model.to(device)
        part = self.examples(p, self.parts(p)["pretrain"])
        c, head_only = p.head_fit, MODES["head_only"]
        net = head_only.wrap(model, classifier.ANATOMY, None)
        classifier.fit(net, part.x, part.y, c.epochs, c.batch_size, c.lr,
                       torch_generator(p.base.seed, "text-head-fit"), device)
        return head_only.unwrap(net), config, {**provenance, "head": "fitted on glosses.pretrain"}

    def data_settings(self, p: Any) -> list[Any]:
        return [p.glosses.model_dump(), p.encoder.checkpoint]


GLOSSES = GlossDomain()
