"""ROC plots: a log-log PNG (readable anywhere) and a CSV on a common FPR grid for `dvc plots`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from leakaudit.core.metrics import roc
from leakaudit.core.store import atomic_path

FPR_GRID = np.unique(np.r_[np.logspace(-4, 0, 161), 0.0])


def roc_table(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Each attack's TPR at the grid FPRs (largest TPR with FPR ≤ grid value), one column each."""
    out = {"fpr": FPR_GRID}
    for name, (fpr, tpr) in curves.items():
        idx = np.searchsorted(fpr, FPR_GRID + 1e-12, side="right") - 1
        out[name] = np.maximum.accumulate(tpr)[np.clip(idx, 0, None)]
    return pd.DataFrame(out)


def roc_curves(scores: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ROC of every attack in a scores table (pooled over victims)."""
    return {a: roc(g.score.to_numpy(), g.member.to_numpy()) for a, g in scores.groupby("attack")}


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], aucs: dict[str, float],
             path: str | Path, title: str) -> None:
    """Log-log ROC of every attack with a chance diagonal, written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    floor = 1e-4
    for name, (fpr, tpr) in curves.items():
        ax.step(np.maximum(fpr, floor), np.maximum(tpr, floor), where="post",
                label=f"{name} (AUC {aucs.get(name, float('nan')):.3f})")
    ax.plot([floor, 1], [floor, 1], "k--", lw=0.8, label="chance")
    ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1),
           xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_roc(scores: pd.DataFrame, summary: dict, directory: Path, title: str,
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both ROC artifacts of a scores table: ``roc.csv`` (grid, for `dvc plots`) and the
    log-log ``roc.png`` labelled with each attack's AUC from ``summary``; returns the curves."""
    directory.mkdir(exist_ok=True)
    curves = roc_curves(scores)
    with atomic_path(directory / "roc.csv") as tmp:
        roc_table(curves).to_csv(tmp, index=False)
    plot_roc(curves, {a: summary[a]["auc"] for a in curves}, directory / "roc.png", title)
    return curves
