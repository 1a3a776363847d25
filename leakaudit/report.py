"""Print the audit's metrics.json as a compact table: `python -m leakaudit.report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")


def render(metrics: dict) -> str:
    """One line per attack: each metric with its 95 % interval; utility last."""
    lines = [f"{'attack':<14}" + "".join(f"{k:>26}" for k in KEYS)]
    for attack, m in metrics.items():
        if attack == "utility":
            continue
        lines.append(f"{attack:<14}" + "".join(
            f"{m[k]:>10.3f} [{m[k + '_low']:.3f}, {m[k + '_high']:.3f}]" for k in KEYS))
    for k, v in metrics.get("utility", {}).items():
        if not k.endswith(("_low", "_high")):
            lines.append(f"utility: {k} {v:.3f}")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "metrics.json")
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
