"""Device and thread settings from ``base`` params."""

from __future__ import annotations

import torch

from leakaudit.core.params import BaseParams


def setup(p: BaseParams) -> torch.device:
    """Set torch's thread count and return the device to use (CUDA when present and allowed)."""
    torch.set_num_threads(p.threads)
    if p.device == "cuda" or (p.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("base.device: 'cuda' requested but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")
