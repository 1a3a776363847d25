"""Training augmentations and aligned query views from the same family."""

from __future__ import annotations

import torch

from leakaudit.tmi.params import Augment


def augment(x: torch.Tensor, a: Augment, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply one random draw of the augmentation family to a batch: images (N×C×H×W) get crop,
    flip and jitter; token ids (N×L, integer) get token masking."""
    if not x.is_floating_point():
        return mask_tokens(x, a.token_mask, generator)
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


def mask_tokens(ids: torch.Tensor, p: float, generator: torch.Generator | None = None,
                ) -> torch.Tensor:
    """Replace each non-padding token (except the first, the start token) by [MASK] with
    chance ``p``; the draws come from ``generator`` (CPU), so views are seeded."""
    if p <= 0:
        return ids
    from leakaudit.tmi.data.tokenize import MASK, PAD

    hit = (torch.rand(ids.shape, generator=generator) < p).to(ids.device)
    hit[:, 0] = False
    return torch.where(hit & (ids != PAD), torch.full_like(ids, MASK), ids)


def aligned_views(
    x: torch.Tensor, a: Augment, n_views: int, include_clean: bool, generator: torch.Generator
) -> torch.Tensor:
    """A×N×… views (images or token ids), identical for every model queried (the same
    generator state)."""
    views = []
    for v in range(n_views):
        views.append(x.clone() if (include_clean and v == 0) else augment(x, a, generator))
    return torch.stack(views)
