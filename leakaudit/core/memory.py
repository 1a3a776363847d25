"""Process memory settings for stages whose hot loops allocate large temporary tensors."""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_KEEP = 1 << 30


def keep_freed_memory() -> bool:
    """Keep freed heap memory in the process instead of returning it to the OS (glibc only).

    By default glibc serves every allocation over ~32 MB with a fresh ``mmap`` and unmaps it
    on free, so each large temporary tensor of a training step page-faults its memory in
    again: on the metaclassifiers' 50 MB hidden layers that costs more than the arithmetic
    (``bench/metaclassifier.py``). Raising both thresholds to 1 GiB reuses the pages; peak
    memory is unchanged, the resident size stays at that peak. Returns False (and changes
    nothing) where the C library has no ``mallopt``."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP))
