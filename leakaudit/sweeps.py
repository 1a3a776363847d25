"""Summaries of DVC experiment sweeps: one table and one figure per swept axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leakaudit.store import atomic_path

METRICS = ("auc", "tpr_at_1pct_fpr")


def summarise(rows: list[dict[str, Any]], axis: str, names: dict[str, Any]) -> pd.DataFrame:
    """Long table axis value × attack → metrics with intervals, plus utility, from
    ``dvc.api.exp_show()`` rows of the named experiments (``names``: experiment → value)."""
    out = []
    for row in rows:
        name = row.get("Experiment")
        if name not in names:
            continue
        attacks = {k.split(".")[0] for k in row if k.endswith(".auc")}
        for attack in sorted(attacks):
            rec = {"axis": axis, "value": names[name], "experiment": name, "attack": attack,
                   "finetune_test_accuracy": row.get("utility.finetune_test_accuracy"),
                   "epsilon": row.get("utility.finetune_epsilon")}
            for m in METRICS:
                for suffix in ("", "_low", "_high"):
                    rec[m + suffix] = row.get(f"{attack}.{m}{suffix}")
            out.append(rec)
    table = pd.DataFrame(out)
    if len(table):  # keep the order the values were given in
        order = list(dict.fromkeys(names.values()))
        table = table.sort_values("value", key=lambda v: v.map(order.index), kind="stable")
    return table.reset_index(drop=True)


def plot_sweep(table: pd.DataFrame, path: str | Path) -> None:
    """AUC and TPR@1%FPR (95 % intervals) per attack vs the axis, finetuned accuracy beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = table.axis.iloc[0]
    order = list(dict.fromkeys(table.value))
    pos = {v: i for i, v in enumerate(order)}
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), dpi=100)
    for attack, g in table.groupby("attack"):
        x = [pos[v] for v in g.value]
        for ax, m in zip(axes[:2], METRICS, strict=True):
            ax.errorbar(x, g[m], yerr=[g[m] - g[m + "_low"], g[m + "_high"] - g[m]],
                        marker="o", capsize=3, label=attack)
    acc = table.drop_duplicates("value")
    axes[2].plot([pos[v] for v in acc.value], acc.finetune_test_accuracy, "ks-")
    for ax, title in zip(axes, ("AUC", "TPR @ 1% FPR", "finetuned test accuracy"), strict=True):
        ax.set_xticks(range(len(order)), [str(v) for v in order])
        ax.set(xlabel=axis, title=title)
        ax.grid(alpha=0.3)
    axes[0].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
