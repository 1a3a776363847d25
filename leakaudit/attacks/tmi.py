"""TMI: one metaclassifier per (victim, challenge point), all trained as one batched program.

For victim v and point t the training rows are the scaled log-odds of every other model's A
views of t, labelled IN/OUT by that model's membership; the score is the mean P(IN) over the
victim's own A views. Each metaclassifier is the reference's MLP (C→H→ReLU→Dropout→2, Adam,
StepLR per epoch, minibatches); stacking them in [B, …] tensors makes every step one bmm.
Adam and weight decay act elementwise, so a summed loss trains each stacked model exactly as
it would be trained alone.

Rows are class-weighted so IN and OUT weigh equally. With balanced masks and leave-one-out,
a victim that holds point t as IN leaves one IN fewer among its shadows (M/2 − 1 vs M/2); an
unweighted metaclassifier learns that prior and scores members *lower* when the signal is weak,
which biases the null control below 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from leakaudit.config import TmiParams


def _uniform(shape: tuple[int, ...], fan_in: int, g: torch.Generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1) * bound


def train_batched(
    x: torch.Tensor, y: torch.Tensor, p: TmiParams, g: torch.Generator
) -> list[torch.Tensor]:
    """Train B metaclassifiers on x [B, N, C] with labels y [B, N] (0/1); return weights."""
    b, n, c = x.shape
    h = p.hidden
    w1 = _uniform((b, c, h), c, g).requires_grad_()
    b1 = _uniform((b, 1, h), c, g).requires_grad_()
    w2 = _uniform((b, h, 2), h, g).requires_grad_()
    b2 = _uniform((b, 1, 2), h, g).requires_grad_()
    params = [w1, b1, w2, b2]
    opt = torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=p.step_size, gamma=p.gamma)
    rows = torch.arange(b)[:, None]
    keep = 1.0 - p.dropout
    n_in = y.sum(1, keepdim=True).clamp(1, n - 1).float()
    weight = torch.where(y.bool(), n / (2 * n_in), n / (2 * (n - n_in)))  # [B, N]
    for _ in range(p.epochs):
        order = torch.rand((b, n), generator=g).argsort(dim=1)
        for start in range(0, n, p.batch_size):
            idx = order[:, start : start + p.batch_size]
            xb, yb, wb = x[rows, idx], y[rows, idx], weight[rows, idx]
            hidden = torch.relu(torch.baddbmm(b1, xb, w1))
            if p.dropout > 0:
                hidden = hidden * (torch.rand(hidden.shape, generator=g) < keep) / keep
            logits = torch.baddbmm(b2, hidden, w2)
            loss = (torch.nn.functional.cross_entropy(
                logits.reshape(-1, 2), yb.reshape(-1), reduction="none"
            ).view(b, -1) * wb).mean(1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    return [q.detach() for q in params]


@torch.no_grad()
def predict_in(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """P(IN) for x [B, R, C] under the stacked metaclassifiers (eval mode: no dropout)."""
    w1, b1, w2, b2 = params
    logits = torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, x, w1)), w2)
    return torch.softmax(logits, -1)[..., 1]


def tmi_scores(
    u: np.ndarray, member: np.ndarray, shadows: np.ndarray, victims: np.ndarray, p: TmiParams,
    g: torch.Generator,
) -> np.ndarray:
    """Scores [V, T] from features u [M, T, A, C], membership labels [M, T] and each victim's
    shadow models ``shadows`` [V, M] (all with the same count)."""
    m, t, a, c = u.shape
    u_t = torch.from_numpy(np.ascontiguousarray(u, dtype=np.float32))
    mem_t = torch.from_numpy(member.astype(np.int64))
    counts = set(shadows.sum(1).tolist())
    if len(counts) != 1:
        raise ValueError("every victim needs the same number of shadow models")
    others_of = [torch.from_numpy(np.nonzero(row)[0]) for row in shadows]
    pairs = [(vi, v, j) for vi, v in enumerate(victims) for j in range(t)]
    out = np.zeros((len(victims), t), dtype=np.float64)
    for start in range(0, len(pairs), p.chunk):
        chunk = pairs[start : start + p.chunk]
        xs, ys, xv = [], [], []
        for vi, v, j in chunk:
            others = others_of[vi]
            xs.append(u_t[others, j].reshape(-1, c))
            ys.append(mem_t[others, j].repeat_interleave(a))
            xv.append(u_t[v, j])
        params = train_batched(torch.stack(xs), torch.stack(ys), p, g)
        scores = predict_in(params, torch.stack(xv)).mean(1).numpy()
        for (vi, _, j), s in zip(chunk, scores, strict=True):
            out[vi, j] = s
    return out
