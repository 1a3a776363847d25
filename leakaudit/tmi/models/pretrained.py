"""A user's own pretrained text encoder (a ``save_pretrained`` directory, or a hub name when
online) as the backbone every audited model starts from. Weights load from safetensors only:
a checkpoint is exactly what this tool distrusts, so it is never unpickled."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from leakaudit.core.store import dir_digest


@functools.lru_cache(maxsize=2)
def _checkpoint(name: str) -> tuple[object, dict[str, torch.Tensor]]:
    from transformers import AutoModel

    from leakaudit.tmi.data.tokenize import reserved_permutation

    try:  # dropout off: the audit's models train deterministically from their seeds
        model = AutoModel.from_pretrained(name, use_safetensors=True, hidden_dropout_prob=0.0,
                                          attention_probs_dropout_prob=0.0)
    except OSError as err:
        raise ValueError(f"model.pretrained: cannot load {name!r} as a safetensors checkpoint "
                         f"(pickled weights are refused): {err}") from None
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    emb = model.get_input_embeddings().weight
    perm = torch.from_numpy(reserved_permutation(name))
    if len(perm) > emb.shape[0]:
        raise ValueError(f"model.pretrained: {name!r} has {emb.shape[0]} token embeddings but "
                         f"its tokenizer {len(perm)} ids")
    key = next(k for k, q in model.named_parameters() if q is emb)
    moved = state[key].clone()
    moved[perm] = state[key][: len(perm)]  # row of new id perm[t] = old row t
    state[key] = moved
    return model.config, state


def load_encoder(name: str, max_len: int) -> tuple[nn.Module, int]:
    """A fresh copy of checkpoint ``name`` (input embeddings re-indexed as the tokenizer's ids
    are, :func:`leakaudit.tmi.data.tokenize.reserved_permutation`) and its hidden width."""
    from transformers import AutoModel

    config, state = _checkpoint(name)
    limit = getattr(config, "max_position_embeddings", max_len)
    if max_len > limit:
        raise ValueError(f"data.text.max_len: got {max_len}; allowed: ≤ {limit} (the "
                         f"position embeddings of model.pretrained {name!r})")
    encoder = AutoModel.from_config(config)
    encoder.load_state_dict(state)
    for m in encoder.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return encoder, int(config.hidden_size)


def checkpoint_digest(name: str) -> str:
    """SHA-256 of a local checkpoint directory's files (so replacing it retrains every model);
    a hub name stands for itself (pin a revision by saving a copy)."""
    return dir_digest(name) if Path(name).is_dir() else name
