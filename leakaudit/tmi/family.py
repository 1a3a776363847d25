"""What a TMI audit does differently from other audits, where it is used (the CLI, flows, the
report stage): its terminal table, report sections, seeds, flow artifacts, sweeps and plots.
Imported through :attr:`leakaudit.core.pipeline.Pipeline.family`, never by a stage that does not
run it."""

from __future__ import annotations

from typing import Any

from leakaudit.tmi import sweeps as SWEEPS  # noqa: N812 (the family's sweep summariser)
from leakaudit.tmi.attacks.registry import ATTACKS
from leakaudit.tmi.params import MIN_GAIN
from leakaudit.tmi.report import html_sections as _html_sections
from leakaudit.tmi.report import render as _render
from leakaudit.tmi.utility import downstream_warning

__all__ = ["SWEEPS", "headline_rows", "html_sections", "plots", "render", "seed_settings"]


def render(pipe: Any, metrics: dict) -> str:
    """The headline table with the degenerate-model warning (the default gain)."""
    return _render(metrics, downstream_warning(metrics.get("utility", {}), MIN_GAIN))


def html_sections(pipe: Any, metrics: dict, params: dict) -> list[str]:
    """Warning, headline, replicates, utility."""
    return _html_sections(metrics, params)


def seed_settings(pipe: Any, seeds: list[int]) -> dict[str, Any]:
    """Seeds are the replicates."""
    return {"replicates.seeds": list(seeds)}


def headline_rows(pipe: Any, metrics: Any) -> Any:
    """Means over replicates under the real membership labels (not the null control)."""
    return metrics[(metrics.replicate == -1) & (metrics.labels == "membership")]


def plots(pipe: Any) -> list[Any]:
    """Log-log ROC of every registered attack, the PNG, the sweep curves."""
    roc_csv, roc_png = (pipe.path(n).as_posix() for n in ("roc_csv", "roc_png"))
    return [{"roc": {"template": "roc_loglog", "x": "fpr", "y": {roc_csv: list(ATTACKS)}}},
            roc_png,
            "sweeps/plots"]  # sweep curves written by `python -m flows.sweep …`
