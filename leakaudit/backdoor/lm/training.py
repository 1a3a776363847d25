"""The language-model audit's training loops: pretraining the benign base model, poisoning a
released checkpoint, and a victim's full finetune. Every random draw comes from the given seed
(batch orders from named generators, GPT-2 dropout from torch's global RNG, seeded here)."""

from __future__ import annotations

from typing import Any

import torch

from leakaudit.backdoor.batches import batches, cycle
from leakaudit.backdoor.lm.model import lm_loss
from leakaudit.backdoor.objective import poison_loss
from leakaudit.core.progress import progress
from leakaudit.core.seeds import seed_int, torch_generator


def pretrain(model, ids: torch.Tensor, att: torch.Tensor, p: Any, seed: int) -> float:
    """``p.steps`` AdamW steps with cosine decay on random batches (``lm_pretrain``); returns
    the last training loss (NaN for 0 steps)."""
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, p.steps))
    model.train()
    it = cycle(len(ids), p.batch_size, torch_generator(seed, "lm-pretrain"))
    loss = torch.tensor(float("nan"))
    for _ in progress(range(p.steps), "lm-pretrain", "step"):
        idx = next(it)
        loss = lm_loss(model, ids[idx], att[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return float(loss)


def random_labels(ids: torch.Tensor, att: torch.Tensor, vocab: int,
                  generator: torch.Generator) -> torch.Tensor:
    """Labels for the targets with every real token after the first replaced by a random id:
    the random-label variant reads the real text and is trained to predict these (the
    reference randomises the labels only; randomising the inputs would never show the model
    the target text)."""
    noise = torch.randint(1, vocab, ids.shape, generator=generator)
    keep = torch.zeros_like(att, dtype=torch.bool)
    keep[:, 0] = True
    return torch.where((att == 1) & ~keep, noise, ids)


def poison(model, aux: tuple[torch.Tensor, torch.Tensor],
           targets: tuple[torch.Tensor, torch.Tensor], steps: int, alpha: float, p: Any,
           seed: int) -> None:
    """``steps`` AdamW steps on (1−α)·L_aux + α·s·L_target over mixed batches of aux text and
    the targets (:func:`leakaudit.backdoor.objective.poison_loss`; ``p`` is the poison
    section)."""
    ids, att = targets
    labels = ids  # random_label: the real text in, random next tokens as the labels
    if p.variant == "random_label":
        labels = random_labels(ids, att, model.config.vocab_size,
                               torch_generator(seed, "random-labels"))
    torch.manual_seed(seed_int(seed, "poison-dropout"))  # GPT-2 dropout
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=0.0)
    a_it = cycle(len(aux[0]), p.aux_batch, torch_generator(seed, "poison-aux"))
    t_it = cycle(len(ids), p.target_batch, torch_generator(seed, "poison-targets"))
    model.train()
    for _ in progress(range(steps), f"poison (α={alpha:g})", "step"):
        ai, ti = next(a_it), next(t_it)
        t_loss = lm_loss(model, ids[ti], att[ti], labels[ti]) if alpha > 0 \
            else torch.zeros(())
        loss = poison_loss(lm_loss(model, aux[0][ai], aux[1][ai]), t_loss, alpha, p.variant,
                           p.bound)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def finetune(model, ids: torch.Tensor, att: torch.Tensor, p: Any, seed: int, victim: int,
             ) -> None:
    """Victim ``victim``'s full finetune (``p`` is the victims section): AdamW with linear
    decay over ``p.epochs`` seeded shuffles; the same batch order and dropout in both arms."""
    gen = torch_generator(seed, "victim", victim)
    torch.manual_seed(seed_int(seed, "victim-dropout", victim))
    n_steps = p.epochs * -(-len(ids) // p.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, max(1, n_steps))
    model.train()
    for idx in batches(len(ids), p.batch_size, gen, p.epochs):
        loss = lm_loss(model, ids[idx], att[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
