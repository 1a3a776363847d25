"""The language-model audit's model: a tiny GPT-2 from a ``transformers`` config (no download),
its tokenizer, per-sequence losses and logits, and safetensors-only checkpoints."""

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


def lm_loss(model, ids: torch.Tensor, att: torch.Tensor, labels: torch.Tensor | None = None,
            ) -> torch.Tensor:
    """Mean next-token cross-entropy over real tokens (labels shifted by the model); the
    labels are the inputs unless given (the random-label poison reads the real text and is
    trained towards other next tokens)."""
    labels = (ids if labels is None else labels).masked_fill(att == 0, -100)
    return model(input_ids=ids, attention_mask=att, labels=labels).loss


def example_losses(model, ids: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
    """Each example's mean next-token cross-entropy over its real tokens [N] (DP-SGD clips
    per example). Position ids are passed per example: Opacus needs every layer's input to
    carry the batch dimension (right padding, so they are 0, 1, 2, … as GPT-2 makes them)."""
    pos = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    logits = model(input_ids=ids, attention_mask=att, position_ids=pos).logits[:, :-1]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2).float(), ids[:, 1:],
                                           reduction="none")
    real = att[:, 1:].float()
    return (ce * real).sum(1) / real.sum(1).clamp(min=1.0)


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


def token_logprobs(logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor,
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(ids[t] | ids[<t]) for t ≥ 1: (logprobs [N, L−1], mask [N, L−1] of real tokens)."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    target = ids[:, 1:]
    return logp.gather(-1, target.unsqueeze(-1)).squeeze(-1), attention[:, 1:].bool()


def mean_loss(model, ids: torch.Tensor, att: torch.Tensor, batch_size: int = 64) -> float:
    """Token-weighted mean loss over a set of texts (for stealth and utility)."""
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
    """Write a finished model atomically (:func:`leakaudit.core.store.replace_dir`): a killed run
    never leaves a half-written model."""
    from leakaudit.core.store import replace_dir

    replace_dir(directory, lambda tmp: save_lm(model, tok, tmp), fingerprint)


def tiny_gpt2(vocab_size: int, context: int = 64, layers: int = 4, dim: int = 128,
              heads: int = 4):
    """``GPT2LMHeadModel`` with the given size; init draws from torch's global RNG (seed it)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab_size, n_positions=context, n_embd=dim, n_layer=layers,
                     n_head=heads, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return GPT2LMHeadModel(cfg)


def context_of(model, context: int) -> int:
    """Tokens per sequence: ``context``, capped by the model's positions (GPT-2's
    ``n_positions``; GPT-Neo and Pythia name it ``max_position_embeddings``)."""
    cfg = model.config
    limit = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    return min(context, limit) if limit else context
