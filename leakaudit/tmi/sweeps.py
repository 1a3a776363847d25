"""Summaries of DVC experiment sweeps: one table and one figure per swept axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.core.sweep_figures import in_given_order, save_sweep_figure, sweep_figure

METRICS = ("auc", "tpr_at_1pct_fpr")
SHOWN = ["value", "attack", "auc", "auc_low", "auc_high", "tpr_at_1pct_fpr", "null_auc",
         "finetune_test_accuracy"]  # the columns a sweep prints


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
                for bound in ("low", "high"):  # flagged values keep flagged bounds
                    rec[f"{m}_{bound}"] = row.get(f"{attack}.{m}_{bound}",
                                                  row.get(f"{attack}.{m}_unreliable_{bound}"))
                if m.startswith("tpr_at_"):  # fewer than 20 negatives behind it: flagged
                    rec[m + "_reliable"] = plain is not None
            out.append(rec)
    return in_given_order(pd.DataFrame(out), names)


def curve_metrics(table: pd.DataFrame) -> list[dict[str, float]]:
    """One dict per swept value (in order): every attack's AUC and TPR@1%FPR, for MLflow
    step curves (a TPR resting on too few negatives is left out)."""
    steps = []
    for _, g in table.groupby("value", sort=False):
        step = {}
        for r in g.itertuples():
            step[f"{r.attack}.auc"] = float(r.auc)
            tpr = r.tpr_at_1pct_fpr
            if getattr(r, "tpr_at_1pct_fpr_reliable", True) and tpr == tpr:
                step[f"{r.attack}.tpr_at_1pct_fpr"] = float(tpr)
        steps.append(step)
    return steps


def plot_sweep(table: pd.DataFrame, path: str | Path) -> None:
    """AUC and TPR@1%FPR (95 % intervals) per attack vs the axis, finetuned accuracy beside;
    a TPR resting on fewer than 20 negatives is crossed out in red."""
    fig, axes, pos = sweep_figure(table, 3, 14)
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
    save_sweep_figure(fig, axes, pos, table.axis.iloc[0],
                      ("AUC", "TPR @ 1% FPR", "finetuned test accuracy"), path)
