"""TMI: one metaclassifier per (shadow set, challenge point), all trained as one fused program.

For victim v and point t the training rows are the scaled log-odds of the A views of t under
every shadow model of v (all models but v and its partner, or a stratified subset), labelled
IN/OUT by that model's membership; the score is the mean P(IN) over the victim's own A views.
Victims with the same shadow sets (the two models of a complementary pair) share their
metaclassifiers: the training data are identical, so each is trained once and scores both.

Each metaclassifier is the reference's MLP (C→H→ReLU→Dropout→2, Adam, StepLR per epoch,
minibatches). The K shadow sets of one point differ only in which models they leave out, so
they are trained *fused*: the point's rows are every model's views, each set weighs the rows
of its left-out models 0, and all K first layers are one [C, K·H] matrix — one wide matmul
per point and step instead of K narrow ones. The K sets of a point see the same minibatch
order (each still a uniform shuffle); a set's minibatch loss is the mean over its own rows in
the batch. Forward and backward are written out (the gradient of a two-logit softmax is one
margin), and Adam and weight decay act elementwise, so the stacked models train exactly as
each would alone. Dropout keeps a unit with probability rounded to a multiple of 1/256 (one
random byte per unit, one bit at the reference's 0.5: far cheaper than a float draw).

Rows are class-weighted so IN and OUT weigh equally (with leave-pair-out shadows the classes are
already balanced under the real masks; random null labels are not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from leakaudit.tmi.attacks.tmi_settings import TmiParams


def _uniform(shape: tuple[int, ...], fan_in: int, g: torch.Generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=g, dtype=torch.float32, device=g.device) * 2 - 1) * bound


_SHIFTS = torch.arange(8, dtype=torch.uint8)


def _gate(pre: torch.Tensor, keep: float, g: torch.Generator) -> torch.Tensor:
    """ReLU and dropout as one 0/1 float mask (the caller applies the 1/keep scale). Dropout
    0.5 (the reference's) draws one random bit per unit; any other rate one byte."""
    alive = pre > 0
    n = pre.numel()
    if keep == 0.5:
        draws = torch.empty(n // 64 + 1, dtype=torch.int64, device=pre.device).random_(
            -(2**63), None, generator=g)
        bits = (draws.view(torch.uint8)[: (n + 7) // 8, None] >> _SHIFTS.to(pre.device)) & 1
        alive &= bits.view(-1)[:n].view(torch.bool).view(pre.shape)
    elif keep < 1:
        draws = torch.empty(n // 8 + 1, dtype=torch.int64, device=pre.device).random_(
            -(2**63), None, generator=g)
        alive &= draws.view(torch.uint8)[:n].view(pre.shape) < round(keep * 256)
    return alive.to(pre.dtype)


@dataclass
class Fused:
    """K metaclassifiers per point, stacked: w1 [T, C, K·H], b1 [T, 1, K·H], w2 [T, K, H, 2],
    b2 [T, K, 2]."""

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor

    @property
    def params(self) -> list[torch.Tensor]:
        return [self.w1, self.b1, self.w2, self.b2]


def class_weights(y: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """[T, K, N] row weights: 0 off a set's rows, else IN and OUT weighing equally."""
    n = rows.sum(-1, keepdim=True)
    n_in = (rows * y[:, None]).sum(-1, keepdim=True).clamp(1, None)
    n_in = torch.minimum(n_in, (n - 1).clamp(1, None))
    return rows * torch.where(y[:, None].bool(), n / (2 * n_in), n / (2 * (n - n_in)))


def backprop(net: Fused, xb: torch.Tensor, sb: torch.Tensor, wb: torch.Tensor,
             rb: torch.Tensor, keep: float, g: torch.Generator) -> None:
    """Fill ``net``'s gradients for one minibatch: xb [T, B, C], signs sb [T, B] (+1 OUT,
    −1 IN), row weights wb and set rows rb [T, K, B]; the loss is each set's mean over its own
    rows of softplus(−margin) × weight, summed over sets and points.

    The second layers of the K sets act as one block-diagonal [K·H, K] matrix per point, so
    every contraction is a batched matmul over points (no permuted copies of the hidden
    layer)."""
    t, k, h = net.w2.shape[:3]
    scale = 1.0 / keep  # inverted dropout, folded into the products that read the hidden layer
    hid = torch.baddbmm(net.b1, xb, net.w1)  # [T, B, K·H]
    gate = _gate(hid, keep, g)
    hid4 = hid.mul_(gate).view(t, -1, k, h)
    diff = (net.w2[..., 0] - net.w2[..., 1])[:, None]  # [T, 1, K, H]: only the margin matters
    margin = (hid4 * diff).sum(-1).mul_(scale).add_((net.b2[..., 0] - net.b2[..., 1])[:, None])
    margin.mul_(sb[..., None])  # [T, B, K]
    count = rb.sum(-1).clamp(1, None)  # [T, K]
    dz = torch.sigmoid(margin.neg_()).mul_(sb[..., None]).neg_()  # d/d margin, signed back
    dz.mul_((wb / count[..., None]).transpose(1, 2))  # d loss / d(z_out − z_in)  [T, B, K]
    gw2 = (hid4 * dz[..., None]).sum(1).mul_(scale)  # [T, K, H]
    net.w2.grad[..., 0], net.w2.grad[..., 1] = gw2, -gw2
    gb2 = dz.sum(1)
    net.b2.grad[..., 0], net.b2.grad[..., 1] = gb2, -gb2
    dh = (dz[..., None] * diff).view(t, -1, k * h).mul_(gate)  # [T, B, K·H]
    torch.baddbmm(net.w1.grad, xb.transpose(1, 2), dh, beta=0, alpha=scale, out=net.w1.grad)
    torch.sum(dh, 1, keepdim=True, out=net.b1.grad).mul_(scale)


def train_fused(x: torch.Tensor, y: torch.Tensor, rows: torch.Tensor, p: TmiParams,
                g: torch.Generator) -> Fused:
    """Train K metaclassifiers per point on x [T, N, C] with labels y [T, N] (0/1); set k of
    point t trains on the rows where ``rows[t, k]`` [T, K, N] is 1."""
    t, n, c = x.shape
    k, h = rows.shape[1], p.hidden
    net = Fused(_uniform((t, c, k * h), c, g), _uniform((t, 1, k * h), c, g),
                _uniform((t, k, h, 2), h, g), _uniform((t, k, 2), h, g))
    for q in net.params:
        q.grad = torch.zeros_like(q)
    opt = torch.optim.Adam(net.params, lr=p.lr, weight_decay=p.weight_decay, fused=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=p.step_size, gamma=p.gamma)
    keep = 1.0 - p.dropout
    rows = rows.float()
    weight = class_weights(y.float(), rows)  # [T, K, N]
    sign = 1.0 - 2.0 * y.float()  # +1 for OUT, −1 for IN
    for _ in range(p.epochs):
        # one gather per epoch (one shuffle per point, shared by its K sets)
        order = torch.rand((t, n), generator=g, device=x.device).argsort(dim=1)
        xe = torch.take_along_dim(x, order[..., None], 1)
        se = torch.take_along_dim(sign, order, 1)
        we = torch.take_along_dim(weight, order[:, None], 2)
        re = torch.take_along_dim(rows, order[:, None], 2)
        for start in range(0, n, p.batch_size):
            batch = slice(start, start + p.batch_size)
            backprop(net, xe[:, batch], se[:, batch], we[:, :, batch], re[:, :, batch], keep, g)
            opt.step()
        sched.step()
    return net


@torch.no_grad()
def predict_in(net: Fused, x: torch.Tensor, k: int) -> torch.Tensor:
    """P(IN) for x [T, R, C] under set ``k``'s metaclassifiers (eval mode: no dropout)."""
    h = net.w2.shape[2]
    cols = slice(k * h, (k + 1) * h)
    hid = torch.relu(torch.baddbmm(net.b1[..., cols], x, net.w1[..., cols]))
    logits = torch.baddbmm(net.b2[:, k, None], hid, net.w2[:, k])
    return torch.softmax(logits, -1)[..., 1]


def shadow_sets(shadows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct shadow sets among victims (``shadows`` [V, T, M]) as [G, T·M] and each
    victim's set [V]: victims with identical sets (a complementary pair) share their
    metaclassifiers. An error unless every victim and point has the same number (≥ 2)."""
    counts = np.unique(shadows.sum(-1))
    if len(counts) != 1 or counts[0] < 2:
        raise ValueError(f"TMI needs the same number (≥ 2) of shadows for every victim and "
                         f"point; got {counts.tolist()}")
    sets, group = np.unique(shadows.reshape(len(shadows), -1), axis=0, return_inverse=True)
    return sets, group.reshape(-1)


def tmi_scores(
    u: np.ndarray, member: np.ndarray, shadows: np.ndarray, victims: np.ndarray, p: TmiParams,
    g: torch.Generator, device: torch.device | str = "cpu",
) -> np.ndarray:
    """Scores [V, T] from features u [M, T, A, C], membership labels [M, T] and each victim's
    shadow models per point ``shadows`` [V, T, M] (the same count everywhere), trained on
    ``device`` (on a GPU the random streams differ from the CPU's: the same seed gives the
    same scores on the same kind of device)."""
    m, t, a, c = u.shape
    v = len(victims)
    sets, group = shadow_sets(shadows)
    k = len(sets)
    # every model's views of a point are its rows; a set keeps its shadows' rows
    device = torch.device(device)
    if device.type != "cpu":  # a generator of the device's own kind, seeded from g
        seed = int(torch.randint(2**62, (1,), generator=g))
        g = torch.Generator(device=device)
        g.manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(
        u.transpose(1, 0, 2, 3).reshape(t, m * a, c), dtype=np.float32)).to(device)
    y = torch.from_numpy(np.repeat(member.T.astype(np.int64), a, axis=1)).to(device)  # [T, M·A]
    rows = torch.from_numpy(
        np.repeat(sets.reshape(k, t, m).transpose(1, 0, 2), a, axis=2)).to(device)
    uv = torch.from_numpy(np.ascontiguousarray(u[victims], dtype=np.float32)).to(device)
    out = np.zeros((v, t), dtype=np.float64)
    per = max(1, p.chunk // k)  # points per fused program
    for start in range(0, t, per):
        pts = slice(start, start + per)
        net = train_fused(x[pts], y[pts], rows[pts], p, g)
        for vi in range(v):
            out[vi, pts] = predict_in(net, uv[vi, pts], int(group[vi])).mean(1).cpu().numpy()
    return out
