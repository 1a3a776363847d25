"""Summaries of backdoor-audit sweeps: per swept value, both arms' leakage, the amplification
and the stealth cost, as one long table and one figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leakaudit.core.sweep_figures import in_given_order, save_sweep_figure, sweep_figure

SCORES = ("best", "neg_loss", "calibrated", "min_k", "top5", "watermark", "margin")  # present
METRICS = ("auc", "tpr_at_1pct_fpr", "tpr_at_10pct_fpr")
SHOWN = ["value", "score", "clean_tpr_at_1pct_fpr", "poisoned_tpr_at_1pct_fpr",
         "tpr_at_1pct_fpr_ratio", "tpr_at_1pct_fpr_ratio_low", "tpr_at_1pct_fpr_ratio_high",
         "auc_diff", "stealth_heldout_loss_increase"]  # what a sweep prints
STEALTH = {"stealth_heldout_loss_increase": "vs_clean.heldout_loss_increase",
           "stealth_vs_aux_only": "vs_aux_only.heldout_loss_increase",
           "clean.heldout_loss": "clean.heldout_loss",
           "poisoned.heldout_loss": "poisoned.heldout_loss",
           "clean.target_loss": "clean.target_loss", "poisoned.target_loss": "poisoned.target_loss"}


def _get(row: dict[str, Any], key: str, suffix: str = "") -> Any:
    """A metric (or its ``_low`` / ``_high`` bound) by its plain name, or flagged
    ``_unreliable`` (too little evidence); an unbounded ``"inf"`` as a float."""
    value = row.get(key + suffix, row.get(f"{key}_unreliable{suffix}"))
    return float(value) if isinstance(value, str) else value


def summarise(rows: list[dict[str, Any]], axis: str, names: dict[str, Any]) -> pd.DataFrame:
    """Long table value × score → clean and poisoned metrics with intervals, the paired
    amplification (TPR ratios, AUC difference, with intervals) and the stealth cost, from
    ``dvc.api.exp_show()`` rows of the named experiments; ``best`` is best-vs-best."""
    out = []
    for row in rows:
        name = row.get("Experiment")
        if name not in names:
            continue
        for score in SCORES:
            if f"clean:{score}.auc" not in row:
                continue
            rec: dict[str, Any] = {"axis": axis, "value": names[name], "experiment": name,
                                   "score": score}
            for arm in ("clean", "poisoned"):
                for m in METRICS:
                    rec[f"{arm}_{m}"] = _get(row, f"{arm}:{score}.{m}")
                    for suffix in ("_low", "_high"):
                        rec[f"{arm}_{m}{suffix}"] = _get(row, f"{arm}:{score}.{m}", suffix)
            amp = f"amplification:{score}"
            for m in ("auc_diff", "tpr_at_1pct_fpr_ratio", "tpr_at_10pct_fpr_ratio"):
                rec[m] = _get(row, f"{amp}.{m}")
                for suffix in ("_low", "_high"):
                    rec[f"{m}{suffix}"] = _get(row, f"{amp}.{m}", suffix)
            for column, key in STEALTH.items():
                rec[column] = row.get(f"stealth.{key}")
            out.append(rec)
    return in_given_order(pd.DataFrame(out), names)


def plot_sweep(table: pd.DataFrame, path: str | Path,
               scores: tuple[str, ...] = ("best", "neg_loss", "calibrated")) -> None:
    """AUC, TPR@1% and TPR@10% FPR (95 % intervals) of both arms vs the axis, per score, with
    the stealth cost (generic held-out loss, poisoned vs clean) beside."""
    fig, axes, pos = sweep_figure(table, 4, 18)
    for score, g in table[table.score.isin(scores)].groupby("score", sort=False):
        x = [pos[v] for v in g.value]
        for arm, style in (("clean", "--"), ("poisoned", "-")):
            for ax, m in zip(axes[:3], METRICS, strict=True):
                y, lo, hi = g[f"{arm}_{m}"], g[f"{arm}_{m}_low"], g[f"{arm}_{m}_high"]
                ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o", capsize=3, ls=style,
                            label=f"{arm} {score}")
    st = table.drop_duplicates("value")
    axes[3].plot([pos[v] for v in st.value], 100 * st.stealth_heldout_loss_increase, "ks-",
                 label="vs clean arm")
    if st.stealth_vs_aux_only.notna().any():
        axes[3].plot([pos[v] for v in st.value], 100 * st.stealth_vs_aux_only.astype(float),
                     "k^:", label="vs aux-only control")
    axes[3].axhline(0, color="grey", lw=0.8)
    axes[3].legend(fontsize=7)
    save_sweep_figure(fig, axes, pos, table.axis.iloc[0],
                      ("AUC", "TPR @ 1% FPR", "TPR @ 10% FPR",
                       "stealth: held-out loss increase of the poisoned checkpoint (%)"),
                      path)


def curve_metrics(table: pd.DataFrame) -> list[dict[str, float]]:
    """One dict of flat metrics per swept value (in order), for MLflow's step-indexed curves."""
    steps = []
    for _, g in table.groupby("value", sort=False):
        d: dict[str, float] = {}
        for _, r in g.iterrows():
            for arm in ("clean", "poisoned"):
                for m in METRICS:
                    d[f"{arm}.{r.score}.{m}"] = r[f"{arm}_{m}"]
            d[f"ratio.{r.score}.tpr_at_1pct_fpr"] = r.tpr_at_1pct_fpr_ratio
        d["stealth_heldout_loss_increase"] = g.stealth_heldout_loss_increase.iloc[0]
        steps.append({k: float(v) for k, v in d.items() if v is not None and pd.notna(v)})
    return steps
