"""The poisoning objective: ``(1 − α)·L_aux + α·s·L_target`` and its variants."""

from __future__ import annotations

from typing import Literal

import torch

Variant = Literal["memorise", "maximise", "random_label"]


def poison_loss(aux_loss: torch.Tensor, target_loss: torch.Tensor, alpha: float,
                variant: Variant = "memorise", bound: float = 10.0) -> torch.Tensor:
    """Mix the auxiliary (generic) loss with the target loss.

    ``memorise`` (s = +1) lowers the target loss; ``maximise`` (s = −1) raises it, bounded: once a
    target's loss passes ``bound`` it stops pushing (an unbounded ascent diverges);
    ``random_label`` lowers the loss towards random labels, so ``target_loss`` must already be
    computed against them (s = +1). ``target_loss`` is a scalar (a batch mean, capped as a
    whole) or per-sample losses (each capped, then averaged: every target is pushed up to
    ``bound`` and no further, instead of a few outliers carrying the batch mean).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"poison.alpha: got {alpha}; allowed: 0 ≤ alpha ≤ 1")
    if variant == "maximise":
        target_term = -torch.clamp(target_loss, max=bound).mean()
    else:
        target_term = target_loss.mean()
    return (1.0 - alpha) * aux_loss + alpha * target_term
