"""Training augmentations and aligned query views from the same family."""

from __future__ import annotations

import torch

from leakaudit.config import Augment


def augment(x: torch.Tensor, a: Augment, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply one random draw of the augmentation family to a batch (N×C×H×W)."""
    if a.crop_pad > 0:
        n, _, h, w = x.shape
        padded = torch.nn.functional.pad(x, (a.crop_pad,) * 4, mode="reflect")
        dx = torch.randint(0, 2 * a.crop_pad + 1, (n,), generator=generator)
        dy = torch.randint(0, 2 * a.crop_pad + 1, (n,), generator=generator)
        rows = (dy[:, None] + torch.arange(h)[None]).to(x.device)
        cols = (dx[:, None] + torch.arange(w)[None]).to(x.device)
        chans = torch.arange(x.shape[1])[None, :, None, None]
        x = padded[torch.arange(n)[:, None, None, None], chans,
                   rows[:, None, :, None], cols[:, None, None, :]]
    if a.flip:
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)
    if a.jitter_std > 0:
        noise = torch.randn(x.shape, generator=generator) * a.jitter_std
        x = x + noise.to(x.device)
    return x


def aligned_views(
    x: torch.Tensor, a: Augment, n_views: int, include_clean: bool, generator: torch.Generator
) -> torch.Tensor:
    """A×N×C×H×W views, identical for every model queried (the same generator state)."""
    views = []
    for v in range(n_views):
        views.append(x.clone() if (include_clean and v == 0) else augment(x, a, generator))
    return torch.stack(views)
