"""What every audit's sweep summaries share: rows in the order the swept values were given,
and the figure (one panel per metric) written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leakaudit.core.store import atomic_path


def in_given_order(table: pd.DataFrame, names: dict[str, Any]) -> pd.DataFrame:
    """Rows sorted by swept value in the order the values were given (stable)."""
    if len(table):
        order = list(dict.fromkeys(names.values()))
        table = table.sort_values("value", key=lambda v: v.map(order.index), kind="stable")
    return table.reset_index(drop=True)


def sweep_figure(table: pd.DataFrame, n_axes: int, width: float):
    """(fig, axes, positions): one panel per metric, x positions of the swept values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = {v: i for i, v in enumerate(dict.fromkeys(table.value))}
    fig, axes = plt.subplots(1, n_axes, figsize=(width, 4), dpi=100)
    return fig, axes, pos


def save_sweep_figure(fig, axes, pos: dict, axis: str, titles: tuple[str, ...],
                      path: str | Path) -> None:
    """Label every panel (swept values on x, chance line on the AUC panel) and write the PNG
    atomically."""
    import matplotlib.pyplot as plt

    for ax, title in zip(axes, titles, strict=True):
        ax.set_xticks(range(len(pos)), [str(v) for v in pos])
        ax.set(xlabel=axis, title=title)
        ax.grid(alpha=0.3)
    axes[0].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
