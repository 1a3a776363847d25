"""Summaries of DVC experiment sweeps: one table and one figure per swept axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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
        # the attacks' headline rows: "<attack>.auc" (the null control and the replicates
        # are nested one level deeper)
        attacks = {k.split(".")[0] for k in row if k.count(".") == 1 and k.endswith(".auc")}
        for attack in sorted(attacks):
            rec = {"axis": axis, "value": names[name], "experiment": name, "attack": attack,
                   "finetune_test_accuracy": row.get("utility.finetune_test_accuracy"),
                   "epsilon": row.get("utility.finetune_epsilon"),
                   "null_auc": row.get(f"null.{attack}.auc")}
            for m in METRICS:
                plain = row.get(f"{attack}.{m}")
                rec[m] = plain if plain is not None else row.get(f"{attack}.{m}_unreliable")
                rec[m + "_low"] = row.get(f"{attack}.{m}_low")
                rec[m + "_high"] = row.get(f"{attack}.{m}_high")
                if m.startswith("tpr_at_"):  # fewer than 20 negatives behind it: flagged
                    rec[m + "_reliable"] = plain is not None
            out.append(rec)
    table = pd.DataFrame(out)
    if len(table):  # keep the order the values were given in
        order = list(dict.fromkeys(names.values()))
        table = table.sort_values("value", key=lambda v: v.map(order.index), kind="stable")
    return table.reset_index(drop=True)


def plot_sweep(table: pd.DataFrame, path: str | Path) -> None:
    """AUC and TPR@1%FPR (95 % intervals) per attack vs the axis, finetuned accuracy beside;
    a TPR resting on fewer than 20 negatives is crossed out in red."""
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
            if m + "_reliable" in g:  # thin low-FPR evidence: crossed out, never a finding
                thin = ~g[m + "_reliable"].astype(bool).to_numpy()
                ax.plot(np.array(x)[thin], g[m].to_numpy()[thin], "rx", ms=10)
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
