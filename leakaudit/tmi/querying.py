"""Query a fleet of models on aligned views of the challenge points → signals tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from leakaudit.tmi.data.views import aligned_views
from leakaudit.tmi.params import QueryParams
from leakaudit.tmi.signals import signal_rows
from leakaudit.tmi.training import predict_logits


def make_views(x: np.ndarray, q: QueryParams, generator: torch.Generator) -> torch.Tensor:
    """A×T×C×H×W aligned views of the challenge images (the same for every model)."""
    return aligned_views(torch.from_numpy(x), q.augment, q.n_views, q.include_clean, generator)


def query_fleet(
    model_ids: Iterable[int], load: Callable[[int], nn.Module], views: torch.Tensor,
    point_ids: np.ndarray, batch_size: int, top_k: int = 0,
) -> pd.DataFrame:
    """The signals table of every model on every view (rows model × point × view)."""
    a, t = views.shape[:2]
    flat = views.reshape(a * t, *views.shape[2:])
    frames = []
    for m in model_ids:
        logits = predict_logits(load(m), flat, batch_size).reshape(a, t, -1)
        frames.append(signal_rows(m, point_ids, logits, top_k))
    return pd.concat(frames, ignore_index=True)
