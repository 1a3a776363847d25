"""Generic text for the backdoor audit: WordNet glosses, split into seeded disjoint parts."""

from __future__ import annotations

from leakaudit.backdoor.config import CorpusParams
from leakaudit.data.wordnet import read_glosses
from leakaudit.seeds import rng

PARTS = ("pretrain", "aux", "victim", "heldout")


def generic_splits(p: CorpusParams, seed: int) -> dict[str, list[str]]:
    """Disjoint seeded parts of the glosses: pretrain, aux (poisoner), victim, heldout."""
    texts, _, _ = read_glosses(p.wordnet_path)
    sizes = {"pretrain": p.pretrain_texts, "aux": p.aux_texts, "victim": p.victim_texts,
             "heldout": p.heldout_texts}
    need = sum(sizes.values())
    if need > len(texts):
        raise ValueError(f"corpus: the parts need {need} texts but WordNet has {len(texts)}")
    order = rng(seed, "generic-splits").permutation(len(texts))
    out, start = {}, 0
    for part in PARTS:
        out[part] = [texts[i] for i in order[start : start + sizes[part]]]
        start += sizes[part]
    return out
