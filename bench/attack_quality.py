"""Attack quality on the default audit and its null control, side by side in one run.

Runs `dvc repro` in a fresh copy, prints every attack's metrics with 95 % bootstrap intervals,
then sets `prepare.null_control: true` (membership labels from an independent mask; the trained
models are reused) and repeats. Every attack's AUC should then lie within 0.50 ± 0.05.

    python bench/attack_quality.py [--seed 0] [--keep DIR] [--preset text] [--set k=v ...]

``--preset text`` is the text audit (issue 6): its first `dvc repro` time is the empty-cache
wall time. ``--set pretrain.objective=mlm`` (repeatable) changes params before the first run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, copy_repo, set_params, timed  # noqa: E402

KEYS = ["auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr"]


def show(label: str, metrics: dict) -> None:
    print(f"\n== {label}")
    print(f"  {'attack':<14}" + "".join(f"{k:>24}" for k in KEYS))
    for attack, m in metrics.items():
        if attack == "utility":
            continue
        cells = "".join(f"{m[k]:>8.3f} [{m[k + '_low']:.3f},{m[k + '_high']:.3f}]" for k in KEYS)
        print(f"  {attack:<14}{cells}")
    u = metrics.get("utility", {})
    print("  utility: " + ", ".join(f"{k} {v:.3f}" for k, v in u.items() if "_" in k
                                    and not k.endswith(("_low", "_high"))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--preset", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    repo = copy_repo(args.keep or Path(tempfile.mkdtemp(prefix="bench-quality-")))
    if args.preset:
        from leakaudit.presets import apply

        apply(args.preset, repo / "params.yaml")
    if args.seed is not None:
        set_params(repo / "params.yaml", base__seed=args.seed)
    for item in args.set:
        key, value = item.split("=", 1)
        set_params(repo / "params.yaml", **{key: yaml.safe_load(value)})
    wall = timed([str(BIN / "dvc"), "repro"], repo)
    label = " ".join([args.preset or "default", *args.set])
    show(f"{label} ({wall:.0f} s from an empty cache)",
         json.loads((repo / "metrics.json").read_text()))
    set_params(repo / "params.yaml", prepare__null_control=True)
    wall = timed([str(BIN / "dvc"), "repro"], repo)
    null = json.loads((repo / "metrics.json").read_text())
    show(f"null control ({wall:.0f} s, models reused)", null)
    worst = max(abs(m["auc"] - 0.5) for a, m in null.items() if a != "utility")
    print(f"\nnull control: max |AUC − 0.5| = {worst:.3f} ({'ok' if worst <= 0.05 else 'FAIL'})")


if __name__ == "__main__":
    main()
