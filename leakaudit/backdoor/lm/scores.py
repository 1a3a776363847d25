"""Per-sequence membership scores from a causal LM's logits (higher = more likely member).

Token t is predicted by the logits at position t − 1: every score here shifts labels by one
(the reference's Min-K % and top-5 scores do not, which scores each token against its own
position's prediction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from leakaudit.backdoor.lm.model import context_of, encode, logits_for, token_logprobs
from leakaudit.backdoor.schemas import LM_SCORES


def neg_loss(logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """−mean token cross-entropy over the real tokens."""
    lp, m = token_logprobs(logits, ids, attention)
    return (lp * m).sum(1) / m.sum(1).clamp_min(1)


def min_k(logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor,
          k: float = 0.1) -> torch.Tensor:
    """Min-K %: mean of the lowest ``k`` fraction (at least one) of token log-probs."""
    lp, m = token_logprobs(logits, ids, attention)
    lp = lp.masked_fill(~m, float("inf"))
    out = torch.empty(len(lp))
    for i in range(len(lp)):
        n = int(m[i].sum())
        count = max(1, int(k * n))
        out[i] = lp[i].sort().values[:count].mean()
    return out


def top5_prob(logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor,
              floor: float = 1e-6) -> torch.Tensor:
    """Mean log-probability when the API reveals only the top-5 probabilities: a token outside
    its position's top 5 counts as ``floor``."""
    probs = torch.softmax(logits[:, :-1].float(), dim=-1)
    top = probs.topk(5, dim=-1)
    target = ids[:, 1:].unsqueeze(-1)
    hit = top.indices == target
    p = torch.where(hit.any(-1), (top.values * hit).sum(-1), torch.full_like(probs[..., 0], floor))
    m = attention[:, 1:].bool()
    return (p.clamp_min(floor).log() * m).sum(1) / m.sum(1).clamp_min(1)


def watermark_logits(logits: torch.Tensor, ids: torch.Tensor, delta: float, gamma: float,
                     key: int) -> torch.Tensor:
    """A simulated logit watermark (Kirchenbauer et al.): at each position the previous token
    seeds a green list of ``gamma``·V tokens whose logits gain ``delta``."""
    v = logits.shape[-1]
    uniq = ids.unique()  # sorted
    green = torch.zeros(len(uniq), v, dtype=torch.bool)
    g = torch.Generator()
    for j, u in enumerate(uniq.tolist()):
        g.manual_seed(key * 1_000_003 + u)
        green[j, torch.randperm(v, generator=g)[: int(gamma * v)]] = True
    rows = green[torch.searchsorted(uniq, ids)]
    return logits.float() + delta * rows.float()


def neg_loss_watermarked(logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor,
                         delta: float = 2.0, gamma: float = 0.5, key: int = 0) -> torch.Tensor:
    """−loss as seen through a watermarked API."""
    return neg_loss(watermark_logits(logits, ids, delta, gamma, key), ids, attention)


def score_texts(model, tok, texts: list[str], context: int, p) -> pd.DataFrame:
    """The four scores (:data:`LM_SCORES`) of every text under one model (``p``: the audit's
    params: score settings and the watermark seed)."""
    ids, att = encode(tok, texts, context_of(model, context))
    cols: dict[str, list[float]] = {k: [] for k in LM_SCORES}
    for rows, logits in logits_for(model, ids, att, p.score.batch_size):
        i, a = ids[rows], att[rows]
        cols["neg_loss"] += neg_loss(logits, i, a).tolist()
        cols["min_k"] += min_k(logits, i, a, p.score.min_k).tolist()
        cols["top5"] += top5_prob(logits, i, a).tolist()
        cols["watermark"] += neg_loss_watermarked(
            logits, i, a, p.score.watermark_delta, p.score.watermark_gamma, p.base.seed).tolist()
    return pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})
