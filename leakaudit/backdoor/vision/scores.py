"""Per-image membership scores from a classifier's logits and the true labels (higher = more
likely member): what an attacker reads from a full-probability, a top-5-only or a logit API."""

from __future__ import annotations

import torch


def neg_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p(y | x): −cross-entropy."""
    return torch.log_softmax(logits.float(), -1).gather(1, y[:, None]).squeeze(1)


def top5(logits: torch.Tensor, y: torch.Tensor, floor: float = 1e-6) -> torch.Tensor:
    """log p(y | x) when the API reveals only the top-5 probabilities; a label outside the top
    5 counts as ``floor``."""
    probs = torch.softmax(logits.float(), -1)
    top = probs.topk(min(5, probs.shape[1]), -1)
    hit = top.indices == y[:, None]
    p = torch.where(hit.any(1), (top.values * hit).sum(1), torch.full_like(probs[:, 0], floor))
    return p.clamp_min(floor).log()


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The true label's logit minus the largest other logit (LiRA's stable per-example
    statistic without the shadow models)."""
    z = logits.float()
    true = z.gather(1, y[:, None]).squeeze(1)
    others = z.scatter(1, y[:, None], float("-inf"))
    return true - others.max(1).values


def score_all(logits: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every image score, by name."""
    return {"neg_loss": neg_loss(logits, y), "top5": top5(logits, y), "margin": margin(logits, y)}
