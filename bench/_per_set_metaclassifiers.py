"""The previous batched TMI trainer (one [B, …] program of independent narrow MLPs, one per
shadow set and point), kept only as the side-by-side baseline of ``bench/metaclassifier.py``."""

from __future__ import annotations

import numpy as np
import torch

from leakaudit.tmi.attacks.tmi import TmiParams, _uniform, shadow_sets


def _dropout_gate(pre: torch.Tensor, keep: float, g: torch.Generator) -> torch.Tensor:
    """ReLU and inverted dropout as one multiplicative gate (no gradient through the gate)."""
    gate = pre > 0
    if keep < 1:
        n = pre.numel()
        draws = torch.empty(n // 8 + 1, dtype=torch.int64).random_(-(2**63), None, generator=g)
        gate &= draws.view(torch.uint8)[:n].view(pre.shape) < round(keep * 256)
    return gate.to(pre.dtype).mul_(1 / keep)


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
    keep = 1.0 - p.dropout
    n_in = y.sum(1, keepdim=True).clamp(1, n - 1).float()
    weight = torch.where(y.bool(), n / (2 * n_in), n / (2 * (n - n_in)))  # [B, N]
    sign = 1.0 - 2.0 * y.float()  # +1 for OUT, −1 for IN
    for _ in range(p.epochs):
        # one gather per epoch; minibatches are then contiguous slices
        order = torch.rand((b, n), generator=g).argsort(dim=1)
        xe = torch.take_along_dim(x, order[..., None], 1)
        se, we = torch.take_along_dim(sign, order, 1), torch.take_along_dim(weight, order, 1)
        for start in range(0, n, p.batch_size):
            batch = slice(start, start + p.batch_size)
            pre = torch.baddbmm(b1, xe[:, batch], w1)
            with torch.no_grad():
                gate = _dropout_gate(pre, keep, g)
            logits = torch.baddbmm(b2, pre * gate, w2)
            # two-class cross-entropy: softplus(±(z_out − z_in))
            margin = (logits[..., 0] - logits[..., 1]) * se[:, batch]
            loss = (torch.nn.functional.softplus(-margin) * we[:, batch]).mean(1).sum()
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
    shadow models per point ``shadows`` [V, T, M] (the same count everywhere)."""
    m, t, a, c = u.shape
    v = len(victims)
    sets, group = shadow_sets(shadows)
    s = int(shadows[0, 0].sum())
    models = np.nonzero(sets.reshape(len(sets), t, m))[2].reshape(len(sets), t, s)  # [G, T, S]
    u_t = torch.from_numpy(np.ascontiguousarray(u, dtype=np.float32))
    mem_t = torch.from_numpy(member.astype(np.int64))
    jobs = np.array([(k, j) for k in range(len(sets)) for j in range(t)])
    out = np.zeros((v, t), dtype=np.float64)
    for start in range(0, len(jobs), p.chunk):
        k, j = jobs[start : start + p.chunk].T
        idx = torch.from_numpy(models[k, j])  # [B, S]
        jt = torch.from_numpy(j)[:, None]
        x = u_t[idx, jt].reshape(len(k), s * a, c)
        y = mem_t[idx, jt].repeat_interleave(a, dim=1)
        params = train_batched(x, y, p, g)
        for vi in range(v):
            rows = np.nonzero(k == group[vi])[0]
            if len(rows):
                sub = [q[torch.from_numpy(rows)] for q in params]
                xv = u_t[int(victims[vi]), torch.from_numpy(j[rows])]  # [R, A, C]
                out[vi, j[rows]] = predict_in(sub, xv).mean(1).numpy()
    return out
