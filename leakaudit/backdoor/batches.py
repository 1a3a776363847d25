"""Seeded index batches for the backdoor audits' training loops (language model and vision)."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def batches(n: int, batch_size: int, generator: torch.Generator, epochs: int = 1,
            ) -> Iterator[torch.Tensor]:
    """Index batches over ``epochs`` seeded shuffles."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for b in range(0, n, batch_size):
            yield order[b : b + batch_size]


def cycle(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless seeded index batches (reshuffled every pass)."""
    while True:
        yield from batches(n, batch_size, generator)
