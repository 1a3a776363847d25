"""Batched ensembles: train G same-architecture models at once as one stacked model.

Parameters of the G models are stacked (``torch.func.stack_module_state``) and every step runs
one ``vmap``-ed forward/backward over all of them. Each model keeps its own seeded init, data
order, augmentation draws and training set (sizes may differ: batches are padded and masked,
and a model whose epoch has fewer steps simply skips the extra steps). Adam is applied per
model with its own step count and learning-rate schedule, so each model follows exactly the
trajectory it would follow alone (up to float reassociation: see the tests' tolerance).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from leakaudit.tmi.data.views import augment
from leakaudit.tmi.params import PretrainParams


def _lr(p: PretrainParams, step: int, total: int) -> float:
    if p.schedule == "cosine":  # CosineAnnealingLR(T_max=total), closed form
        return p.lr * (1 + math.cos(math.pi * min(step, total) / max(1, total))) / 2
    return p.lr


def train_ensemble(
    models: list[nn.Module], xs: list[torch.Tensor], ys: list[torch.Tensor], p: PretrainParams,
    generators: list[torch.Generator],
) -> list[dict[str, float]]:
    """Train ``models[g]`` on (xs[g], ys[g]) with ``generators[g]``, all G at once, in place.

    Supports Adam without weight decay or with L2 (as torch.optim.Adam) and constant or cosine
    schedules. Returns per-model final-epoch loss and accuracy.
    """
    if p.optimizer != "adam":
        raise ValueError("batched ensembles support pretrain.optimizer: adam only")
    g_count = len(models)
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    ns = [len(x) for x in xs]
    steps = [(n + p.batch_size - 1) // p.batch_size for n in ns]
    total = [s * p.epochs for s in steps]
    b1, b2, eps = 0.9, 0.999, 1e-8
    m_state = {k: torch.zeros_like(v) for k, v in params.items()}
    v_state = {k: torch.zeros_like(v) for k, v in params.items()}
    t = torch.zeros(g_count)

    def loss_fn(prm, buf, x, y, w):
        logits = functional_call(base, (prm, buf), (x,))
        per = nn.functional.cross_entropy(logits, y, reduction="none")
        loss = (per * w).sum() / w.sum().clamp_min(1.0)
        return loss, logits

    step_fn = vmap(grad_and_value(loss_fn, has_aux=True))
    shape = xs[0].shape[1:]
    dev = next(iter(params.values())).device
    t = t.to(dev)
    for epoch in range(p.epochs):
        orders = [torch.randperm(n, generator=gen) for n, gen in zip(ns, generators, strict=True)]
        loss_sum = torch.zeros(g_count, device=dev)
        correct = torch.zeros(g_count, device=dev)
        seen = torch.zeros(g_count, device=dev)
        for s in range(max(steps)):
            xb = torch.zeros(g_count, p.batch_size, *shape)
            yb = torch.zeros(g_count, p.batch_size, dtype=torch.long)
            wb = torch.zeros(g_count, p.batch_size)
            for g in range(g_count):
                if s >= steps[g]:
                    continue
                idx = orders[g][s * p.batch_size : (s + 1) * p.batch_size]
                k = len(idx)
                xb[g, :k] = augment(xs[g][idx], p.augment, generators[g])
                yb[g, :k] = ys[g][idx]
                wb[g, :k] = 1.0
            xb, yb, wb = xb.to(dev), yb.to(dev), wb.to(dev)
            active = wb.sum(1) > 0
            grads, (loss, logits) = step_fn(params, buffers, xb, yb, wb)
            with torch.no_grad():
                t += active.float()
                k = wb.sum(1)
                loss_sum += loss * k
                seen += k
                correct += ((logits.argmax(-1) == yb).float() * wb).sum(1)
                lr = torch.tensor([_lr(p, epoch * steps[g] + s, total[g]) for g in range(g_count)],
                                  device=dev)
                for name, prm in params.items():
                    shape_g = (g_count,) + (1,) * (prm.dim() - 1)
                    gr = grads[name]
                    if p.weight_decay:
                        gr = gr + p.weight_decay * prm
                    a = active.view(shape_g)
                    m_new = b1 * m_state[name] + (1 - b1) * gr
                    v_new = b2 * v_state[name] + (1 - b2) * gr * gr
                    m_state[name] = torch.where(a, m_new, m_state[name])
                    v_state[name] = torch.where(a, v_new, v_state[name])
                    tt = t.clamp_min(1).view(shape_g)
                    m_hat = m_state[name] / (1 - b1**tt)
                    v_hat = v_state[name] / (1 - b2**tt)
                    update = lr.view(shape_g) * m_hat / (v_hat.sqrt() + eps)
                    prm.sub_(torch.where(a, update, torch.zeros_like(update)))
    for g, model in enumerate(models):
        model.load_state_dict({k: v[g].detach().clone() for k, v in params.items()}
                              | {k: v[g].clone() for k, v in buffers.items()})
    seen = seen.clamp_min(1).cpu()
    return [{"final_loss": float(ls), "train_accuracy": float(c)}
            for ls, c in zip(loss_sum.cpu() / seen, correct.cpu() / seen, strict=True)]
