"""Print an audit's metrics.json as a compact table: `python -m leakaudit.report [FILE]`.

TPR values backed by fewer than 20 negatives are printed as ``n/a`` with their evidence, never
as a plain number."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from leakaudit.statistics import MIN_NEGATIVES
from leakaudit.utility import MIN_GAIN, downstream_warning

GROUPS = ("utility", "null", "replicates")


def cell(m: dict, key: str) -> str:
    """'value [low, high]', with the evidence behind a TPR@FPR (flagged when too thin)."""
    ev = f" ({m[key + '_negatives']} neg)" if key + "_negatives" in m else ""
    if key + "_unreliable" in m:
        return f"n/a: {m[key + '_negatives']} neg < {MIN_NEGATIVES}"
    if key not in m or m[key] is None:
        return "-"
    return f"{m[key]:.3f} [{m[key + '_low']:.3f}, {m[key + '_high']:.3f}]{ev}"


def render(metrics: dict, warning: str | None = None) -> str:
    """One line per attack: mean over replicates with intervals, the null control's AUC, the
    paired AUC difference to TMI; then each replicate's AUCs, the utility and ``warning``
    (:func:`leakaudit.utility.downstream_warning`)."""
    attacks = [a for a in metrics if a not in GROUPS and not a.endswith("_vs")]
    tprs = sorted({k.removesuffix("_unreliable") for a in attacks for k in metrics[a]
                   if k.startswith("tpr_at_") and k.endswith(("fpr", "fpr_unreliable"))},
                  key=lambda k: -float(k.split("_")[2].removesuffix("pct")))
    cols = ["auc", *tprs, "balanced_accuracy"]
    vs = next((k for k in metrics if k.endswith("_vs")), None)
    head = f"{'attack':<14}" + "".join(f"{c:>34}" for c in cols) + f"{'null auc':>26}"
    lines = [head + (f"{vs.removesuffix('_vs') + ' − attack, auc':>30}" if vs else "")]
    for a in attacks:
        line = f"{a:<14}" + "".join(f"{cell(metrics[a], c):>34}" for c in cols)
        line += f"{cell(metrics.get('null', {}).get(a, {}), 'auc'):>26}"
        if vs and a in metrics[vs]:
            d = metrics[vs][a]
            line += f"{d['auc_difference']:>+10.3f} [{d['auc_difference_low']:+.3f}, " \
                    f"{d['auc_difference_high']:+.3f}]"
        lines.append(line)
    for seed, aucs in metrics.get("replicates", {}).items():
        lines.append(f"{seed}: AUC " + ", ".join(f"{a} {v:.3f}" for a, v in aucs.items()))
    for k, v in metrics.get("utility", {}).items():
        if not k.endswith(("_low", "_high")):
            lines.append(f"utility: {k} {v:.3f}")
    if warning:
        lines.append(f"WARNING: {warning}")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "metrics.json")
    metrics = json.loads(path.read_text())
    print(render(metrics, downstream_warning(metrics.get("utility", {}), MIN_GAIN)))


if __name__ == "__main__":
    main()
