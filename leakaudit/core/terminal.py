"""How every audit shows a metric from its metrics.json, in the terminal and in the report:
a value with its interval, ``unbounded`` for an interval over a zero TPR, and a low-FPR value
whose weakest ROC rests on too little evidence shown as not reportable, with the reason."""

from __future__ import annotations

from typing import Any

from leakaudit.core.statistics import MIN_NEGATIVES, MIN_POINTS


def number(v: Any) -> str:
    """A metric value as text: 3 decimals, ``unbounded`` for ±inf, ``–`` when undefined."""
    if v is None:
        return "–"
    v = float(v)
    if v != v:
        return "–"
    if v in (float("inf"), float("-inf")):
        return "unbounded" if v > 0 else "-unbounded"
    return f"{v:.3f}"


def thin(m: dict, key: str) -> str | None:
    """Why the metric ``key`` of ``m`` is not reportable (``None`` if it is): its weakest ROC's
    negatives or distinct points are too few."""
    if key + "_unreliable" not in m:
        return None
    neg, pts = m.get(key + "_negatives"), m.get(key + "_points")
    if neg is not None and neg < MIN_NEGATIVES:
        return f"n/a: {neg} neg < {MIN_NEGATIVES}"
    if pts is not None and pts < MIN_POINTS:
        return f"n/a: {pts} points < {MIN_POINTS}"
    return "n/a: too little evidence"


def interval(m: dict, key: str) -> str:
    """' [low, high]' of ``key`` (empty when ``m`` has no bounds for it)."""
    low, high = m.get(key + "_low"), m.get(key + "_high")
    if key + "_low" not in m and key + "_high" not in m:
        return ""
    return f" [{number(low)}, {number(high)}]"


def cell(m: dict, key: str) -> str:
    """'value [low, high] (N neg)' for the terminal, or why the value is not reportable."""
    reason = thin(m, key)
    if reason:
        return reason
    if m.get(key) is None:
        return "-"
    ev = f" ({m[key + '_negatives']} neg)" if key + "_negatives" in m else ""
    return f"{number(m[key])}{interval(m, key)}{ev}"
