"""Text → fixed-length token ids: bytes, a BPE vocabulary trained locally, or a hub tokenizer.

Ids 0–3 are reserved in the local tokenizers: 0 pad, 1 mask (token-masking views), 2 unknown,
3 start. Every tokenizer is deterministic: the same texts give the same ids on every run.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from leakaudit.tmi.params import TextParams

PAD, MASK, UNK, START = 0, 1, 2, 3
SPECIALS = ["[PAD]", "[MASK]", "[UNK]", "[CLS]"]


def encode(texts: Sequence[str], p: TextParams) -> tuple[np.ndarray, int]:
    """Token ids [N, max_len] and vocabulary size by ``p.tokenizer``: ``bpe`` (trained here on
    these texts), ``bytes``, or a hub name / local directory for ``AutoTokenizer``."""
    if p.tokenizer == "bpe":
        return encode_bpe(texts, p.max_len, p.vocab_size)
    if p.tokenizer == "bytes":
        return encode_bytes(texts, p.max_len)
    return encode_pretrained(texts, p.max_len, p.tokenizer)


def encode_bytes(texts: Sequence[str], max_len: int) -> tuple[np.ndarray, int]:
    """UTF-8 bytes shifted past the reserved ids; returns (ids [N, max_len], vocab size)."""
    out = np.full((len(texts), max_len), PAD, dtype=np.int64)
    out[:, 0] = START
    for i, t in enumerate(texts):
        b = np.frombuffer(t.encode("utf-8")[: max_len - 1], dtype=np.uint8)
        out[i, 1 : 1 + len(b)] = b.astype(np.int64) + len(SPECIALS)
    return out, 256 + len(SPECIALS)


def encode_bpe(texts: Sequence[str], max_len: int, vocab_size: int,
               train_texts: Sequence[str] | None = None) -> tuple[np.ndarray, int]:
    """A byte-level BPE vocabulary trained here with ``tokenizers`` (on ``train_texts``, default
    all texts), then every text encoded, truncated and padded to ``max_len``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(train_texts if train_texts is not None else texts), trainer)
    return _pack([e.ids for e in tok.encode_batch(list(texts))], max_len), tok.get_vocab_size()


def encode_pretrained(texts: Sequence[str], max_len: int, name: str) -> tuple[np.ndarray, int]:
    """A tokenizer by hub name or local directory (``transformers.AutoTokenizer``); its pad and
    mask ids are moved to 0 and 1 (:func:`reserved_permutation`) so padding masks and masking
    views work the same. Online, or offline from a saved copy."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name)
    enc = tok(list(texts), truncation=True, max_length=max_len, padding="max_length")
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    return reserved_permutation(name)[ids], len(tok)


@functools.lru_cache(maxsize=4)
def reserved_permutation(name: str) -> np.ndarray:
    """Id map of tokenizer ``name``: its pad id swapped with 0, then its mask id (if any) with 1;
    every other id kept. A pretrained encoder's embedding rows get the same map
    (:func:`leakaudit.tmi.models.pretrained.load_encoder`), so it reads the same tokens."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name)
    perm = np.arange(len(tok), dtype=np.int64)
    for reserved, own in ((PAD, tok.pad_token_id), (MASK, tok.mask_token_id)):
        if own is not None:  # the old id now at `reserved` takes own's place
            other = int(np.flatnonzero(perm == reserved)[0])
            perm[other], perm[own] = perm[own], reserved
    return perm


def _pack(seqs: list[list[int]], max_len: int) -> np.ndarray:
    out = np.full((len(seqs), max_len), PAD, dtype=np.int64)
    out[:, 0] = START
    for i, s in enumerate(seqs):
        s = s[: max_len - 1]
        out[i, 1 : 1 + len(s)] = s
    return out
