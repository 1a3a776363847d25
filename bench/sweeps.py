"""The TMI paper's axes on the embedded default, as DVC experiment sweeps (Prefect flow).

Runs in this repository (its DVC cache: trained models are reused wherever only an attack or
query setting changes) and prints, per axis, every attack's AUC and TPR@1%FPR with 95 %
intervals beside the finetuned model's accuracy. Summaries: sweeps/tables, sweeps/plots.

    make audit && python bench/sweeps.py [--quick]
"""

from __future__ import annotations

import argparse

import pandas as pd

from flows.sweep import sweep

AXES: list[tuple[str, list[str], list[str]]] = [
    ("finetune.dp.epsilon", ["1", "8"], ["finetune.dp.enabled=true"]),
    ("finetune.mode", ["last_k", "full"], []),
    ("attack.n_shadows", ["8", "16", "32"], []),
    ("attack.n_views", ["1", "2", "4"], []),
    ("query.top_k", ["1", "2"], []),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two axes only")
    args = ap.parse_args()
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for axis, values, extra in AXES[:2] if args.quick else AXES:
            table = pd.read_csv(sweep(axis, values, extra))
            cols = ["value", "attack", "auc", "auc_low", "auc_high", "tpr_at_1pct_fpr",
                    "finetune_test_accuracy", "epsilon"]
            print(f"\n== {axis} {' '.join(extra)}")
            print(table[cols].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
