"""RMIA for the transfer threat model (Zarifzadeh et al., ICML 2024, "Low-Cost High-Power
Membership Inference Attacks"), adapted to a finetuned model that answers on another label set.

Signal: the downstream label of an upstream point is undefined, so there is no "true label" to
read the finetuned model at. For each victim and point, the *membership class* — the class
whose view-mean probability the victim's IN shadows raise most over its OUT shadows (chosen from
the shadows and the labels in use, never from the victim) — and Pr(x | θ) is θ's view-mean
probability of it. For the victim v and challenge point x:

    LR(x, z) = [Pr(x | v) / Pr(x)] / [Pr(z | v) / Pr(z)],   score(x) = share of z with LR ≥ γ

over population points z that no audited model trained on (the upstream held-out points,
``query.n_population`` of them), each read at the class its reference models predict most.
Pr(x) is x's probability averaged over the victim's reference models:

- **online**: ½ (mean over IN shadows + mean over OUT shadows);
- **offline**: OUT shadows only, Pr(x) ≈ ½ ((1 + a) · Pr_OUT(x) + (1 − a)) (the paper's
  approximation of Pr_IN by a linear function of Pr_OUT), with ``a`` fitted by a fixed rule
  from the shadows alone: the least-squares slope of mean-IN − 1 on mean-OUT − 1 over the
  points, never reading the victim.

Pr(z) is z's mean over the same reference models (z is OUT for every model). A score takes
Z + 1 values; ties are ordered by Pr(x | v) / Pr(x) itself (a monotone tie-break that only
splits what the share cannot).

Designed on the tuning seed 0 only (docs/results.md): reading every model at the victim's
predicted class gave AUC 0.51 on synthetic class shifts (an OUT victim's top class is one the
IN shadows push down, so both look like members); the models' confidence gave AUC 0.73; the
membership class 0.81 (online, γ = 1; 0.5 and 2 were lower), against TMI 0.795 and lira_diag
0.809 on the same seed. Per-view ratios (a geometric mean) gave the same.

The white-box reference reads the *pretrained* models at the true upstream label instead: an
upper bound that needs the pretrained weights, never the audit's verdict.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from leakaudit.core.params import Section

EPS = 1e-12  # probabilities are floored here: a ratio over a zero is not evidence


class RmiaParams(Section):
    """``attack.rmia``: the pairwise threshold and the offline approximation."""

    gamma: float = Field(1.0, gt=0.0, description="LR(x, z) ≥ γ counts z as beaten")
    offline_a: Literal["fit"] | float = Field(
        "fit", description="offline: Pr_IN ≈ a·Pr_OUT + (1 − a); 'fit' = least squares on the "
        "shadows (a fixed rule), or a number in [0, 1]")


def membership_class_probs(probs: np.ndarray, member: np.ndarray, shadows: np.ndarray
                           ) -> np.ndarray:
    """[V, M, T]: every model's view-mean probability, per victim and point, of the class the
    victim's IN shadows raise most over its OUT shadows. probs [M, T, A, K], member [M, T],
    shadows [V, T, M]."""
    pm = probs.mean(2).astype(np.float64)  # [M, T, K]
    w = shadows.transpose(0, 2, 1)  # [V, M, T]
    win, wout = (w & member[None]).astype(np.float64), (w & ~member[None]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = (np.einsum("vmt,mtk->vtk", win, pm) / win.sum(1)[..., None]
                - np.einsum("vmt,mtk->vtk", wout, pm) / wout.sum(1)[..., None])
    cls = np.nan_to_num(lift, nan=0.0).argmax(-1)  # [V, T]
    out = np.take_along_axis(pm[None], cls[:, None, :, None], -1)[..., 0]  # [V, M, T]
    return np.maximum(out, EPS)


def consensus_probs(probs: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """[V, M, Z]: every model's view-mean probability of the class each victim's reference
    models (refs [V, M]) predict most on each population point. probs [M, Z, A, K]."""
    pm = probs.mean(2).astype(np.float64)  # [M, Z, K]
    r = refs.astype(np.float64)
    cls = (np.einsum("vm,mzk->vzk", r, pm)).argmax(-1)  # [V, Z]
    out = np.take_along_axis(pm[None], cls[:, None, :, None], -1)[..., 0]
    return np.maximum(out, EPS)


def label_probs(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """[M, T]: every model's probability of each point's true label, averaged over views."""
    m, t, a, _ = probs.shape
    idx = np.broadcast_to(labels[None, :, None, None], (m, t, a, 1))
    return np.maximum(np.take_along_axis(probs, idx, -1)[..., 0].mean(-1).astype(np.float64),
                      EPS)


def _means(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of p [V, M, T] over the models of mask [V, T, M] → [V, T] (NaN where empty)."""
    w = mask.astype(np.float64)  # [V, T, M]
    n = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("vtm,vmt->vt", w, p) / np.where(n > 0, n, np.nan)


def fit_a(p_in: np.ndarray, p_out: np.ndarray) -> np.ndarray:
    """Per victim, the least-squares ``a`` of Pr_IN − 1 ≈ a (Pr_OUT − 1) over points, in
    [0, 1] (from the shadows' means only). p_in, p_out [V, T]."""
    u, r = p_out - 1, p_in - 1
    ok = np.isfinite(u) & np.isfinite(r)
    num = np.where(ok, u * r, 0).sum(1)
    den = np.where(ok, u * u, 0).sum(1)
    return np.clip(num / np.where(den > 0, den, 1), 0.0, 1.0)


def rmia_scores(x_probs: np.ndarray, z_probs: np.ndarray, member: np.ndarray,
                shadows: np.ndarray, victims: np.ndarray, p: RmiaParams, online: bool
                ) -> np.ndarray:
    """Scores [V, T]. x_probs [V, M, T] and z_probs [V, M, Z]: Pr(· | model) for every model,
    as each victim reads it (the membership class, or the true label); member [M, T];
    shadows [V, T, M]."""
    v = len(victims)
    mem = member.T[None]  # [1, T, M]
    sin, sout = mem & shadows, ~mem & shadows
    pin, pout = _means(x_probs, sin), _means(x_probs, sout)
    refs = shadows.any(1)  # [V, M]: the victim's reference models for z
    zmask = np.broadcast_to(refs[:, None, :], (v, z_probs.shape[2], refs.shape[1]))
    pz = _means(z_probs, zmask)  # [V, Z]
    if online:
        px = 0.5 * (pin + pout)
    else:
        a = fit_a(pin, pout) if p.offline_a == "fit" else np.full(v, float(p.offline_a))
        px = 0.5 * ((1 + a[:, None]) * pout + (1 - a[:, None]))
        pz = 0.5 * ((1 + a[:, None]) * pz + (1 - a[:, None]))
    px = np.where(np.isfinite(px), px, 1.0)  # a class without shadows: no evidence
    rows = np.arange(v)
    ratio_x = x_probs[rows, victims] / px  # [V, T]
    ratio_z = z_probs[rows, victims] / pz  # [V, Z]
    beaten = (ratio_x[:, :, None] / ratio_z[:, None, :] >= p.gamma).mean(-1)  # [V, T]
    tie = np.log(ratio_x)
    return beaten + 1e-6 * (tie - tie.min()) / max(float(np.ptp(tie)), 1e-12)
