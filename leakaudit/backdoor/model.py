"""A tiny GPT-2 built from a ``transformers`` config (no download)."""

from __future__ import annotations


def tiny_gpt2(vocab_size: int, context: int = 64, layers: int = 4, dim: int = 128,
              heads: int = 4):
    """``GPT2LMHeadModel`` with the given size; init draws from torch's global RNG (seed it)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab_size, n_positions=context, n_embd=dim, n_layer=layers,
                     n_head=heads, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return GPT2LMHeadModel(cfg)
