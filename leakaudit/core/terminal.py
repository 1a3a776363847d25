"""Cells of the terminal tables every audit prints."""

from __future__ import annotations

from leakaudit.core.statistics import MIN_NEGATIVES


def cell(m: dict, key: str) -> str:
    """'value [low, high]', with the evidence behind a TPR@FPR (flagged when too thin)."""
    ev = f" ({m[key + '_negatives']} neg)" if key + "_negatives" in m else ""
    if key + "_unreliable" in m:
        return f"n/a: {m[key + '_negatives']} neg < {MIN_NEGATIVES}"
    if key not in m or m[key] is None:
        return "-"
    return f"{m[key]:.3f} [{m[key + '_low']:.3f}, {m[key + '_high']:.3f}]{ev}"
