"""Print a privacy-backdoor audit's metrics.json as a compact table: per score, both arms' AUC
and TPR@1 % FPR with intervals and the paired poisoned/clean comparison; then non-target
leakage and stealth. Best-vs-best comes first, as in the file."""

from __future__ import annotations

from leakaudit.report import cell

# (row group, metric, header); amplification = poisoned vs clean, paired
COLUMNS = (("clean", "auc", "clean AUC"), ("poisoned", "auc", "poisoned AUC"),
           ("amplification", "auc_diff", "AUC difference"),
           ("clean", "tpr_at_1pct_fpr", "clean TPR@1%"),
           ("poisoned", "tpr_at_1pct_fpr", "poisoned TPR@1%"),
           ("amplification", "tpr_at_1pct_fpr_ratio", "TPR@1% ratio"))


def render_backdoor(metrics: dict) -> str:
    """One line per score (``best`` first): clean and poisoned AUC, their paired difference,
    clean and poisoned TPR@1 % FPR (with its negatives), their paired ratio; then the
    non-target ratios and the stealth measurements."""
    scores = [k.split(":", 1)[1] for k in metrics if k.startswith("amplification:")]
    head = f"{'score':<12}" + "".join(f"{label:>32}" for _, _, label in COLUMNS)
    lines = [head]
    for score in scores:
        lines.append(f"{score:<12}" + "".join(
            f"{cell(metrics.get(f'{arm}:{score}', {}), m):>32}" for arm, m, _ in COLUMNS))
    non = metrics.get("non_targets", {})
    for key, m in non.items():
        if key.startswith("amplification:") and isinstance(m, dict):
            lines.append(f"non-targets {key}: TPR@1% ratio {cell(m, 'tpr_at_1pct_fpr_ratio')}")
    stealth: dict[str, list[str]] = {}
    for key, value in metrics.get("stealth", {}).items():
        if key.startswith("vs_") and isinstance(value, int | float):
            ref, name = key.split(".", 1)
            stealth.setdefault(ref, []).append(f"{name} {value:+.4f}")
    for ref, items in stealth.items():
        lines.append(f"stealth, poisoned {ref.replace('_', ' ', 1)}: " + ", ".join(items))
    return "\n".join(lines)
