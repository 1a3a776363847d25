"""Query models into the signals table (model × point × view → per-class values) and back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


def logodds_from_logits(z: torch.Tensor) -> torch.Tensor:
    """Per-class log(p) − log(1 − p) computed stably from logits: z_c − logsumexp(z_{−c})."""
    k = z.shape[-1]
    eye = torch.eye(k, dtype=torch.bool, device=z.device)
    others = z.unsqueeze(-2).expand(*z.shape, k).masked_fill(eye, float("-inf"))
    return z - torch.logsumexp(others, dim=-1)


def logodds_from_probs(p: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """Per-class log-odds from probabilities (for restricted outputs), with a small epsilon."""
    p = p.double()
    return (torch.log(p + eps) - torch.log((1 - p).clamp_min(0) + eps)).float()


def restrict_top_k(probs: torch.Tensor, k: int) -> torch.Tensor:
    """What an API returning only the top-k probabilities reveals: the k largest stay, the
    remaining mass is spread uniformly over the other classes (ties broken by class index)."""
    n = probs.shape[-1]
    if k <= 0 or k >= n:
        return probs
    top = probs.topk(k, dim=-1)
    rest = (1 - top.values.sum(-1, keepdim=True)).clamp_min(0) / (n - k)
    return rest.expand_as(probs).clone().scatter_(-1, top.indices, top.values)


def signal_rows(
    model_id: int, point_ids: np.ndarray, logits: torch.Tensor, top_k: int = 0
) -> pd.DataFrame:
    """Rows of the signals table for one model; ``logits`` is A×T×K (views × points × classes).

    With ``top_k`` > 0 the stored probabilities and log-odds are those of the restricted output.
    """
    a, t, k = logits.shape
    z = logits.double()
    if 0 < top_k < k:
        p = restrict_top_k(torch.softmax(z, -1), top_k)
        probs = p.float().numpy().reshape(a * t, k)
        lo = logodds_from_probs(p).numpy().reshape(a * t, k)
    else:
        probs = torch.softmax(z, -1).float().numpy().reshape(a * t, k)
        lo = logodds_from_logits(z).float().numpy().reshape(a * t, k)
    frame = {
        "model_id": np.full(a * t, model_id, dtype=np.int64),
        "point_id": np.tile(point_ids.astype(np.int64), a),
        "view_id": np.repeat(np.arange(a, dtype=np.int64), t),
    }
    frame |= {f"prob_{c}": probs[:, c] for c in range(k)}
    frame |= {f"logodds_{c}": lo[:, c] for c in range(k)}
    return pd.DataFrame(frame)


@dataclass(frozen=True)
class SignalArrays:
    """Dense views of a signals table: arrays shaped [model, point, view, class]."""

    model_ids: np.ndarray
    point_ids: np.ndarray
    probs: np.ndarray
    logodds: np.ndarray


def to_arrays(signals: pd.DataFrame) -> SignalArrays:
    """Reshape a complete signals table into dense arrays (sorted by model, point, view)."""
    df = signals.sort_values(["model_id", "point_id", "view_id"])
    models = np.unique(df.model_id.to_numpy())
    points = np.unique(df.point_id.to_numpy())
    views = np.unique(df.view_id.to_numpy())
    shape = (len(models), len(points), len(views))
    if len(df) != np.prod(shape):
        raise ValueError(
            f"table 'signals': incomplete grid: {len(df)} rows for {shape} models×points×views"
        )
    k = sum(c.startswith("prob_") for c in df.columns)
    probs = df[[f"prob_{c}" for c in range(k)]].to_numpy(np.float32).reshape(*shape, k)
    lo = df[[f"logodds_{c}" for c in range(k)]].to_numpy(np.float32).reshape(*shape, k)
    return SignalArrays(models, points, probs, lo)


def take_points(arrays: SignalArrays, point_ids: np.ndarray) -> SignalArrays:
    """The same signals restricted to ``point_ids`` (in that order)."""
    idx = np.searchsorted(arrays.point_ids, point_ids)
    if len(point_ids) and (idx.max() >= len(arrays.point_ids)
                           or not np.array_equal(arrays.point_ids[idx], point_ids)):
        raise ValueError("take_points: some points are not in the signals")
    return SignalArrays(arrays.model_ids, arrays.point_ids[idx], arrays.probs[:, idx],
                        arrays.logodds[:, idx])


def expect_grid(arrays: SignalArrays, model_ids: np.ndarray, point_ids: np.ndarray,
                source: str) -> SignalArrays:
    """Check that a signals table covers exactly the audit's models and challenge points
    (a table missing a whole model is a complete grid of the wrong size)."""
    from leakaudit.core.schemas import SchemaViolation

    for what, have, want in (("model", arrays.model_ids, model_ids),
                             ("point", arrays.point_ids, point_ids)):
        missing = sorted(set(want.tolist()) - set(have.tolist()))
        extra = sorted(set(have.tolist()) - set(want.tolist()))
        if missing or extra:
            raise SchemaViolation(
                f"{source}: table 'signals' rows: {what}s {missing[:5]} are missing"
                + (f", {what}s {extra[:5]} are not in the audit" if extra else ""))
    return arrays
