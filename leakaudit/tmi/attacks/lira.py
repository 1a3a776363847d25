"""Gaussian likelihood-ratio attacks: adapted LiRA (black box) and white-box LiRA."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from leakaudit.core.params import Section

if TYPE_CHECKING:  # torch loads when a fit runs, not when the params are validated
    import torch


class LiraParams(Section):
    """``attack.lira``: the Gaussian fits of every LiRA variant."""

    covariance: Literal["full", "diag"] = "full"
    ridge: float = Field(1e-3, ge=0.0, description="added to the covariance diagonal")


def _fit_logpdf(
    obs: torch.Tensor, shadows: torch.Tensor, weight: torch.Tensor, full: bool, ridge: float
) -> torch.Tensor:
    """log N(obs; μ, Σ) with μ, Σ fitted to the weighted shadows.

    obs [B, D], shadows [B, M, D], weight [B, M] in {0, 1}. Returns [B].
    """
    import torch

    n = weight.sum(1).clamp_min(1.0)
    mu = (weight[..., None] * shadows).sum(1) / n[:, None]
    centred = (shadows - mu[:, None]) * weight[..., None]
    d = obs.shape[-1]
    denom = (n - 1).clamp_min(1.0)
    diff = obs - mu
    if full:
        cov = centred.transpose(1, 2) @ centred / denom[:, None, None]
        cov = cov + ridge * torch.eye(d, dtype=cov.dtype)
        chol = torch.linalg.cholesky(cov)
        sol = torch.linalg.solve_triangular(chol, diff[..., None], upper=False)[..., 0]
        logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        maha = (sol**2).sum(-1)
    else:
        var = (centred**2).sum(1) / denom[:, None] + ridge
        logdet = torch.log(var).sum(-1)
        maha = (diff**2 / var).sum(-1)
    return -0.5 * (maha + logdet + d * math.log(2 * math.pi))


def gaussian_lr(
    obs: np.ndarray, shadows: np.ndarray, shadow_in: np.ndarray, shadow_out: np.ndarray,
    covariance: str, ridge: float,
) -> np.ndarray:
    """log N_in(obs) − log N_out(obs), batched: obs [B, D], shadows [B, M, D], masks [B, M].
    0 (no evidence) where either class has no shadow."""
    import torch

    o = torch.from_numpy(obs.astype(np.float64))
    s = torch.from_numpy(shadows.astype(np.float64))
    full = covariance == "full"
    lin = _fit_logpdf(o, s, torch.from_numpy(shadow_in.astype(np.float64)), full, ridge)
    lout = _fit_logpdf(o, s, torch.from_numpy(shadow_out.astype(np.float64)), full, ridge)
    # a class without shadows (possible only under random null labels) gives no evidence
    empty = ~shadow_in.any(-1) | ~shadow_out.any(-1)
    return np.where(empty, 0.0, (lin - lout).numpy())


def _shadow_masks(member: np.ndarray, shadows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IN/OUT shadow masks [V, T, M] from membership [M, T] and shadow sets [V, T, M]."""
    mem = member.T[None]  # [1, T, M]
    return mem & shadows, ~mem & shadows


def adapted_lira(
    probs: np.ndarray, logodds: np.ndarray, member: np.ndarray, shadows: np.ndarray,
    victims: np.ndarray, covariance: str, ridge: float,
) -> np.ndarray:
    """The reference's black-box LiRA for transfer: at the victim's argmax class of each view,
    compare the victim's scaled scores with Gaussians fitted to IN and OUT shadows.
    ``shadows`` [V, T, M] marks each victim's shadow models per point. Returns [V, T]."""
    m, t, a, _ = probs.shape
    cls = probs[victims].argmax(-1)  # [V, T, A]
    # gather s[m, t, a, cls[v, t, a]] for every model m → [V, T, M, A]
    by_point = logodds.transpose(1, 0, 2, 3)  # [T, M, A, K]
    gathered = np.stack([  # s[m, t, a, cls[v, t, a]] for every model m → [V, T, M, A]
        np.take_along_axis(by_point, cls[vi][:, None, :, None], -1)[..., 0]
        for vi in range(len(victims))
    ])
    obs = np.stack([gathered[vi, :, v] for vi, v in enumerate(victims)])  # [V, T, A]
    sin, sout = _shadow_masks(member, shadows)
    v = len(victims)
    return gaussian_lr(
        obs.reshape(v * t, a), gathered.reshape(v * t, m, a),
        sin.reshape(v * t, m), sout.reshape(v * t, m), covariance, ridge,
    ).reshape(v, t)


def whitebox_lira(
    logodds_pre: np.ndarray, labels: np.ndarray, member: np.ndarray, shadows: np.ndarray,
    victims: np.ndarray, covariance: str, ridge: float,
) -> np.ndarray:
    """LiRA on the *pretrained* models' scaled score at the true fine label (an upper bound that
    needs the pretrained weights). logodds_pre [M, T, A, K_up], labels [T]. Returns [V, T]."""
    m, t, a, _ = logodds_pre.shape
    at_label = np.take_along_axis(logodds_pre, labels[None, :, None, None].repeat(m, 0)
                                  .repeat(a, 2), -1)[..., 0]  # [M, T, A]
    per_point = at_label.transpose(1, 0, 2)  # [T, M, A]
    v = len(victims)
    samples = np.broadcast_to(per_point[None], (v, t, m, a))
    obs = at_label[victims]  # [V, T, A]
    sin, sout = _shadow_masks(member, shadows)
    return gaussian_lr(
        obs.reshape(v * t, a), samples.reshape(v * t, m, a),
        sin.reshape(v * t, m), sout.reshape(v * t, m), covariance, ridge,
    ).reshape(v, t)
