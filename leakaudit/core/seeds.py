"""Every random choice derives from ``base.seed`` plus a named purpose and indices."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _key(purpose: str) -> int:
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:4], "little")


def seed_sequence(seed: int, purpose: str, *index: int) -> np.random.SeedSequence:
    """A SeedSequence unique to (root seed, purpose, indices)."""
    return np.random.SeedSequence([seed, _key(purpose), *index])


def seed_int(seed: int, purpose: str, *index: int) -> int:
    """A non-negative int64 seed unique to (root seed, purpose, indices), for torch.manual_seed."""
    return int(seed_sequence(seed, purpose, *index).generate_state(1, np.uint64)[0] >> 1)


def rng(seed: int, purpose: str, *index: int) -> np.random.Generator:
    """A numpy Generator unique to (root seed, purpose, indices)."""
    return np.random.default_rng(seed_sequence(seed, purpose, *index))


def disjoint_parts(seed: int, purpose: str, n: int, sizes: dict[str, int]
                   ) -> dict[str, np.ndarray]:
    """Disjoint parts of ``range(n)``: consecutive slices, in the order of ``sizes``, of one
    seeded permutation (growing a part never moves an earlier part)."""
    order = rng(seed, purpose).permutation(n)
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = order[start : start + size]
        start += size
    return out


def torch_generator(seed: int, purpose: str, *index: int) -> torch.Generator:
    """A CPU torch Generator unique to (root seed, purpose, indices)."""
    import torch

    g = torch.Generator()
    g.manual_seed(int(seed_sequence(seed, purpose, *index).generate_state(1, np.uint64)[0] >> 1))
    return g
