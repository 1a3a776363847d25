"""Causal-LM plumbing for the backdoor audit: tokenizer, batches, training steps, per-sequence
losses and logits, and safetensors-only checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

TOKENIZER_FILE = "tokenizer.json"
EOS = "<|endoftext|>"


def train_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer trained here (deterministic); id 0 is end-of-text/padding."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(list(texts), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def encode(tok, texts: Sequence[str], context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention) [N, context]: EOS first (so the first real token is scored too), text,
    then EOS padding with attention 0."""
    eos = tok.token_to_id(EOS)
    eos = 0 if eos is None else eos
    ids = np.full((len(texts), context), eos, dtype=np.int64)
    att = np.zeros((len(texts), context), dtype=np.int64)
    for i, enc in enumerate(tok.encode_batch(list(texts))):
        seq = [eos, *enc.ids][:context]
        ids[i, : len(seq)] = seq
        att[i, : len(seq)] = 1
    return torch.from_numpy(ids), torch.from_numpy(att)


def lm_loss(model, ids: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over real tokens (labels shifted by the model)."""
    labels = ids.masked_fill(att == 0, -100)
    return model(input_ids=ids, attention_mask=att, labels=labels).loss


def batches(n: int, batch_size: int, generator: torch.Generator, epochs: int = 1,
            ) -> Iterator[torch.Tensor]:
    """Index batches over ``epochs`` seeded shuffles."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for b in range(0, n, batch_size):
            yield order[b : b + batch_size]


def cycle_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless seeded index batches (reshuffled every pass)."""
    while True:
        yield from batches(n, batch_size, generator)


@torch.no_grad()
def logits_for(model, ids: torch.Tensor, att: torch.Tensor, batch_size: int = 64,
               ) -> Iterator[tuple[slice, torch.Tensor]]:
    """Eval-mode logits per batch: yields (rows, logits [B, L, V])."""
    model.eval()
    dev = next(model.parameters()).device
    for i in range(0, len(ids), batch_size):
        rows = slice(i, i + batch_size)
        yield rows, model(input_ids=ids[rows].to(dev),
                          attention_mask=att[rows].to(dev)).logits.float().cpu()


def mean_loss(model, ids: torch.Tensor, att: torch.Tensor, batch_size: int = 64) -> float:
    """Token-weighted mean loss over a set of texts (for stealth and utility)."""
    from leakaudit.backdoor.scores import token_logprobs

    total, count = 0.0, 0
    for rows, logits in logits_for(model, ids, att, batch_size):
        lp, m = token_logprobs(logits, ids[rows], att[rows])
        total += float(-(lp * m).sum())
        count += int(m.sum())
    return total / max(1, count)


def save_lm(model, tok, directory: Path) -> None:
    """Weights as safetensors (``save_pretrained``) plus the tokenizer's JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    if tok is not None:
        tok.save(str(directory / TOKENIZER_FILE))


def load_lm(directory: str | Path):
    """(model, tokenizer) from a directory or hub name, safetensors only: a checkpoint that
    has only pickled weights (``pytorch_model.bin``) is refused, never unpickled."""
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    path = Path(directory)
    if path.exists() and not any(path.glob("*.safetensors")):
        raise ValueError(f"lm.checkpoint: {path} has no .safetensors weights; refusing to load "
                         "pickled checkpoints (convert them to safetensors first)")
    model = AutoModelForCausalLM.from_pretrained(str(directory), use_safetensors=True)
    if (path / TOKENIZER_FILE).exists():
        tok = Tokenizer.from_file(str(path / TOKENIZER_FILE))
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(directory))._tokenizer
    return model, tok


def save_lm_done(model, tok, directory: Path, fingerprint: str) -> None:
    """Write a finished model atomically: save into a temporary sibling, add the completion
    marker, then swap it into place (a killed run never leaves a half-written model)."""
    import os
    import shutil

    from leakaudit.store import MARKER, write_json

    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_lm(model, tok, tmp)
    write_json(tmp / MARKER, {"fingerprint": fingerprint})
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)
