"""A small text encoder built from a ``transformers`` config (no download), or a user's own
pretrained encoder: BERT layers, mean pooling over non-padding tokens, then a narrow feature
layer for the transfer head."""

from __future__ import annotations

import torch
from torch import nn


class TextEncoder(nn.Module):
    """token ids [N, L] (0 = padding) → features [N, feature_dim]."""

    def __init__(self, vocab_size: int, max_len: int, hidden: int, layers: int, heads: int,
                 feature_dim: int, pretrained: str | None = None) -> None:
        super().__init__()
        if pretrained:  # a user's checkpoint (leakaudit.tmi.models.pretrained), safetensors only
            from leakaudit.tmi.models.pretrained import load_encoder

            self.encoder, hidden = load_encoder(pretrained, max_len)
        else:
            from transformers import BertConfig, BertModel

            cfg = BertConfig(
                vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=heads, intermediate_size=2 * hidden,
                max_position_embeddings=max_len, type_vocab_size=1, pad_token_id=0,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            )
            self.encoder = BertModel(cfg, add_pooling_layer=False)
        self.features = nn.Sequential(nn.Linear(hidden, feature_dim), nn.ReLU())

    def token_states(self, ids: torch.Tensor) -> torch.Tensor:
        """Per-token hidden states [N, L, hidden]."""
        return self.encoder(input_ids=ids, attention_mask=(ids != 0).long()).last_hidden_state

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = (ids != 0).unsqueeze(-1).float()
        pooled = (self.token_states(ids) * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.features(pooled)
