"""Self-supervised pretraining of a text encoder: masked language modelling (BERT's objective).

A temporary LM head (hidden → vocabulary, seeded) predicts the original ids at a random 15 % of
the real tokens, which are replaced by [MASK]. Only the encoder is kept; its pooled features
then serve the downstream probe exactly as after supervised pretraining.
"""

from __future__ import annotations

import torch
from torch import nn

from leakaudit.tmi.data.tokenize import MASK, PAD
from leakaudit.tmi.data.views import augment
from leakaudit.tmi.models.transformer import TextEncoder
from leakaudit.tmi.params import PretrainParams
from leakaudit.tmi.training import TrainResult, to_device

IGNORE = -100


def mlm_batch(ids: torch.Tensor, rate: float, generator: torch.Generator,
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked inputs, targets): targets hold the original id where a token was masked and
    ``IGNORE`` elsewhere; padding and the start token are never chosen."""
    pick = (torch.rand(ids.shape, generator=generator) < rate).to(ids.device)
    pick[:, 0] = False
    pick &= ids != PAD
    inputs = torch.where(pick, torch.full_like(ids, MASK), ids)
    return inputs, torch.where(pick, ids, torch.full_like(ids, IGNORE))


def train_mlm(encoder: TextEncoder, ids: torch.Tensor, p: PretrainParams,
              generator: torch.Generator, rate: float = 0.15,
              precision: str = "fp32") -> TrainResult:
    """Masked-LM training of ``encoder`` on ``ids``; returns loss and masked-token accuracy."""
    device = next(encoder.parameters()).device
    hidden = encoder.encoder.config.hidden_size
    vocab = encoder.encoder.config.vocab_size
    head = nn.Linear(hidden, vocab).to(device)
    with torch.no_grad():  # seeded init, independent of torch's global RNG
        bound = 1.0 / hidden**0.5
        head.weight.uniform_(-bound, bound, generator=generator)
        head.bias.zero_()
    params = [q for q in encoder.encoder.parameters()] + list(head.parameters())
    opt = torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay) \
        if p.optimizer == "adam" else \
        torch.optim.SGD(params, lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay)
    n = len(ids)
    per_epoch = (n + p.batch_size - 1) // p.batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, p.epochs * per_epoch)) \
        if p.schedule == "cosine" else torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    ids = to_device(ids, device)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    encoder.train()
    total = correct = seen = 0.0
    for _ in range(p.epochs):
        order = torch.randperm(n, generator=generator)
        total = correct = seen = 0.0
        for b in range(per_epoch):
            idx = order[b * p.batch_size : (b + 1) * p.batch_size]
            batch = augment(ids[idx.to(ids.device)], p.augment, generator)
            inputs, targets = mlm_batch(batch, rate, generator)
            inputs, targets = inputs.to(device), targets.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = head(encoder.token_states(inputs)).float()
            loss = loss_fn(logits.reshape(-1, vocab), targets.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            k = int((targets != IGNORE).sum())
            total += loss.item() * k
            seen += k
            correct += int(((logits.argmax(-1) == targets) & (targets != IGNORE)).sum())
    return TrainResult(final_loss=total / max(1, seen), train_accuracy=correct / max(1, seen))
