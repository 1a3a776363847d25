"""Progress bars for the loops that train or score for more than a few seconds: tqdm on
stderr, redrawn at most every 2 s, silent under ``CI=true`` and when stderr is not a terminal
(so logs and captured stage output stay clean)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def quiet() -> bool | None:
    """True under CI (``CI=true`` or ``1``); None lets tqdm decide (off without a terminal)."""
    return True if os.environ.get("CI", "").lower() in ("true", "1") else None


def progress(items: Iterable[T], desc: str, unit: str = "it", total: int | None = None
             ) -> Iterator[T]:
    """``items`` with a progress bar labelled ``desc``."""
    return iter(tqdm(items, desc=desc, unit=unit, total=total, mininterval=2.0,
                     disable=quiet()))
