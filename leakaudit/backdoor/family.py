"""What a privacy-backdoor audit does differently from other audits, where it is used (the CLI,
flows, the report stage): its terminal table, report sections, seeds, flow artifacts, sweeps and
plots. Imported through :attr:`leakaudit.core.pipeline.Pipeline.family`, never by a stage that
does not run it."""

from __future__ import annotations

from typing import Any

from leakaudit.backdoor import sweeps as SWEEPS  # noqa: N812 (the family's sweep summariser)
from leakaudit.backdoor.analysis import BEST
from leakaudit.backdoor.arms import ARMS
from leakaudit.backdoor.report import html_sections as _html_sections
from leakaudit.backdoor.report import render_backdoor

__all__ = ["SWEEPS", "headline_rows", "html_sections", "plots", "render", "seed_settings"]


def render(pipe: Any, metrics: dict) -> str:
    """Per score: both arms and the paired amplification; non-targets; stealth."""
    return render_backdoor(metrics)


def html_sections(pipe: Any, metrics: dict, params: dict) -> list[str]:
    """Headline per score, non-target leakage, stealth, design."""
    return _html_sections(metrics)


def seed_settings(pipe: Any, seeds: list[int]) -> dict[str, Any]:
    """One audit is one seed (replicate with bench/backdoor.py)."""
    if len(seeds) != 1:
        raise ValueError(f"seeds: got {seeds}; allowed: one seed for the {pipe.name} audit "
                         "(replicate with bench/backdoor.py)")
    return {"base.seed": seeds[0]}


def headline_rows(pipe: Any, metrics: Any) -> Any:
    """The audit's rows (replicate −1: its one seed, or the mean over seeds)."""
    return metrics[metrics.replicate == -1]


def plots(pipe: Any) -> list[Any]:
    """Both arms' ROC for best-vs-best, raw −loss and calibrated; the sweep curves."""
    shown = [f"{arm}:{s}" for s in (BEST, pipe.scores[0], "calibrated") for arm in ARMS]
    return [{"clean vs poisoned (best-vs-best, −loss, calibrated)": {
                "template": "simple", "x": "fpr", "y": {pipe.path("roc_csv").as_posix(): shown}}},
            "sweeps/plots"]  # sweep curves written by `python -m flows.sweep …`
