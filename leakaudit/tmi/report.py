"""Print an audit's metrics.json as a compact table: `python -m leakaudit.tmi.report [FILE]`.

TPR values backed by fewer than 20 negatives are printed as ``n/a`` with their evidence, never
as a plain number."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from leakaudit.core.html_report import cell as html_cell
from leakaudit.core.html_report import esc, table
from leakaudit.core.terminal import cell, interval, number, thin
from leakaudit.tmi.params import MIN_GAIN
from leakaudit.tmi.utility import downstream_warning

GROUPS = ("verdict", "strongest", "utility", "null", "structured_null", "replicates")


def verdict(row: dict, replicates: int) -> str:
    """One line a person can act on, from the strongest query-access attack's row: the share
    of pretraining members it identifies at 1 % FPR when that rests on enough evidence, else
    its AUC; "no leakage detected" when the AUC interval reaches 0.5."""
    name = row["attack"]
    where = (f"({name}, the strongest query-access attack, fixed on the tuning seed; mean over "
             f"{replicates} replicate{'s' if replicates != 1 else ''})")
    if row.get("auc_low") is not None and row["auc_low"] <= 0.5:
        return (f"No leakage detected: an attacker with query access to the finetuned model "
                f"separates pretraining members from non-members no better than chance "
                f"(AUC {number(row['auc'])}{interval(row, 'auc')}) {where}.")
    key = "tpr_at_1pct_fpr"
    if key in row:
        return (f"An attacker with query access to the finetuned model identifies "
                f"{row[key]:.0%} of pretraining members at 1 % FPR [{row[key + '_low']:.0%}, "
                f"{row[key + '_high']:.0%}] {where}.")
    reason = thin(row, key) or "not measured"
    return (f"An attacker with query access to the finetuned model separates pretraining "
            f"members from non-members with AUC {number(row['auc'])}{interval(row, 'auc')} "
            f"{where}; its TPR at 1 % FPR is not reportable ({reason}).")


def render(metrics: dict, warning: str | None = None) -> str:
    """One line per attack: mean over replicates with intervals, the null control's AUC, the
    paired AUC differences to TMI and to the strongest attack; then each replicate's AUCs, the
    utility and ``warning`` (:func:`leakaudit.tmi.utility.downstream_warning`)."""
    attacks = [a for a in metrics if a not in GROUPS and not a.endswith("_vs")]
    tprs = sorted({k.removesuffix("_unreliable") for a in attacks for k in metrics[a]
                   if k.startswith("tpr_at_") and k.endswith(("fpr", "fpr_unreliable"))},
                  key=lambda k: -float(k.split("_")[2].removesuffix("pct")))
    cols = ["auc", *tprs, "balanced_accuracy"]
    vs = [k for k in metrics if k.endswith("_vs")]
    head = f"{'attack':<16}" + "".join(f"{c:>34}" for c in cols) + f"{'null auc':>26}"
    lines = [f"VERDICT: {metrics['verdict']}"] if metrics.get("verdict") else []
    lines.append(head + "".join(f"{k.removesuffix('_vs') + ' − attack, auc':>30}" for k in vs))
    for a in attacks:
        label = a + ("*" if _white_box(a) else "")
        line = f"{label:<16}" + "".join(f"{cell(metrics[a], c):>34}" for c in cols)
        line += f"{cell(metrics.get('null', {}).get(a, {}), 'auc'):>26}"
        for k in vs:
            line += f"{_difference(metrics[k].get(a)):>30}"
        lines.append(line)
    for seed, aucs in metrics.get("replicates", {}).items():
        lines.append(f"{seed}: AUC " + ", ".join(f"{a} {v:.3f}" for a, v in aucs.items()))
    for k, v in metrics.get("utility", {}).items():
        if not k.endswith(("_low", "_high")):
            lines.append(f"utility: {k} {v:.3f}")
    if any(_white_box(a) for a in attacks):
        lines.append("* white box: reads the pretrained weights (an upper reference, never the "
                     "verdict)")
    if warning:
        lines.append(f"WARNING: {warning}")
    return "\n".join(lines)


def _difference(d: dict | None) -> str:
    """A paired AUC difference with its interval, or a dash (the reference itself)."""
    if not d:
        return "–"
    return (f"{d['auc_difference']:+.3f} [{d['auc_difference_low']:+.3f}, "
            f"{d['auc_difference_high']:+.3f}]")


def _white_box(attack: str) -> bool:
    from leakaudit.tmi.attacks.registry import ATTACKS

    return attack in ATTACKS and ATTACKS[attack].white_box


def html_sections(m: dict, params: dict) -> list[str]:
    """The report's sections: the degenerate-model warning, the headline (every attack, null
    control, paired differences to TMI and to the strongest attack), replicates, utility."""
    gain = (params.get("evaluate") or {}).get("min_downstream_gain", MIN_GAIN)
    warning = downstream_warning(m.get("utility", {}), gain)
    out = [f'<p class="verdict"><b>Verdict:</b> {esc(m["verdict"])}</p>'] if m.get("verdict") \
        else []
    out += [f'<p class="warn"><b>Warning:</b> {esc(warning)}</p>'] if warning else []
    groups = set(GROUPS)
    attacks = [a for a in m if a not in groups and not a.endswith("_vs")]
    vs = [k for k in m if k.endswith("_vs")]
    tprs = sorted({k.removesuffix("_unreliable") for a in attacks for k in m[a]
                   if k.startswith("tpr_at_") and k.endswith(("fpr", "fpr_unreliable"))},
                  key=lambda k: -float(k.split("_")[2].removesuffix("pct")))
    header = ["attack", "AUC [95 %]", *(f"TPR @ {k.split('_')[2].replace('pct', ' %')} FPR"
                                         for k in tprs),
              "null-control AUC", "structured-null AUC",
              *(f"{k.removesuffix('_vs')} − attack, AUC (paired)" for k in vs)]
    rows = []
    for a in attacks:
        label = f"<b>{esc(a)}</b>" + ("<br><small>white box: an upper reference</small>"
                                       if _white_box(a) else "")
        rows.append([label, html_cell(m[a], "auc"), *(html_cell(m[a], k) for k in tprs),
                     html_cell(m.get("null", {}).get(a, {}), "auc"),
                     html_cell(m.get("structured_null", {}).get(a, {}), "auc"),
                     *(_difference(m[k].get(a)) for k in vs)])
    out += ["<h2>Headline: mean over replicates, 95 % intervals</h2>", table(header, rows),
           '<p class="note">Intervals: two-way cluster bootstrap within a replicate '
           "(challenge points × victim pairs), hierarchical over replicates; comparisons are "
           "paired. The null control reruns every attack under random membership labels: "
           "its AUC should cover 0.5.</p>"]
    reps = m.get("replicates", {})
    if reps:
        names = sorted({a for r in reps.values() for a in r})
        out += ["<h2>Replicates (AUC)</h2>", table(
            ["replicate", *map(esc, names)],
            [[esc(s), *(f"{r[a]:.3f}" if a in r else "–" for a in names)]
             for s, r in reps.items()])]
    util = m.get("utility", {})
    keys = [k for k in util if not k.endswith(("_low", "_high"))]
    if keys:
        out += ["<h2>Utility</h2>", table(["model", "held-out accuracy [range]"],
                                          [[esc(k), html_cell(util, k)] for k in keys])]
    return out


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "metrics.json")
    metrics = json.loads(path.read_text())
    print(render(metrics, downstream_warning(metrics.get("utility", {}), MIN_GAIN)))


if __name__ == "__main__":
    main()
