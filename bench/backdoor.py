"""The privacy-backdoor audit from an empty cache, clean vs poisoned side by side.

Copies the repo, runs `dvc repro` in backdoor/ (optionally after ``--set key=value`` changes to
backdoor/params.yaml), and prints per arm and score the AUC and TPR at 1 % and 10 % FPR with
95 % bootstrap intervals, the amplification (poisoned / clean; whether the intervals are
disjoint), the stealth cost, and the wall time.

    python bench/backdoor.py [--set poison.steps=1200 ...] [--keep DIR]
    python bench/backdoor.py --pipeline backdoor-vision [--set poison.alpha=0.5 ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ROOT, copy_repo, set_params, timed  # noqa: E402

from leakaudit.layout import read_record  # noqa: E402
from leakaudit.pipelines import family  # noqa: E402
from leakaudit.pipelines import get as get_pipeline  # noqa: E402

SCORES = ("neg_loss", "calibrated", "min_k", "top5", "watermark", "margin")  # those present
KEYS = ("auc", "tpr_at_1pct_fpr", "tpr_at_10pct_fpr")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--pipeline", choices=family("backdoor"), default="backdoor")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--report", type=Path, default=None,
                    help="only print the table of an existing backdoor/metrics.json")
    ap.add_argument("--wall", type=float, default=float("nan"), help="with --report")
    args = ap.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()), args.wall, "(existing run)")
        return
    pipe = get_pipeline(args.pipeline).folder
    repo = copy_repo(args.keep or Path(tempfile.mkdtemp(prefix="bench-backdoor-")))
    shutil.copytree(ROOT / pipe, repo / pipe, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("outputs", "models", "plots", "mlflow.db",
                                                  "mlruns", "metrics.json", "dvc.lock", "sweeps"))
    for item in args.set:
        key, value = item.split("=", 1)
        set_params(repo / pipe / "params.yaml", **{key: yaml.safe_load(value)})
    wall = timed([str(BIN / "dvc"), "repro"], repo / pipe)
    report(json.loads((repo / pipe / "metrics.json").read_text()), wall,
           f"{pipe} " + (" ".join(args.set) or "(default)"))
    seconds = {d.parent.name: read_record(d.parent).get("compute_seconds", float("nan"))
               for d in sorted((repo / pipe / "outputs").glob("*/stage.json"))}
    print("stage compute seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))


def report(m: dict, wall: float, label: str) -> None:
    """Print one audit's arms, amplification and stealth."""
    print(f"backdoor audit {label}: {wall:.0f} s from an empty "
          f"cache; {m['audit']['negatives_behind_1pct_fpr']:.0f} negatives behind 1 % FPR")
    print(f"  {'score':<11}{'arm':<10}" + "".join(f"{k:>26}" for k in KEYS))
    for score in [s for s in SCORES if f"clean:{s}" in m]:
        for arm in ("clean", "poisoned"):
            r = m[f"{arm}:{score}"]
            cells = "".join(f"{r[k]:>10.3f} [{r[k + '_low']:.3f},{r[k + '_high']:.3f}]"
                            for k in KEYS)
            print(f"  {score:<11}{arm:<10}{cells}")
        a = m[f"amplification:{score}"]
        print(f"  {'':<11}{'poisoned/clean':<14} AUC {a['auc_diff']:+.3f} "
              f"(disjoint {bool(a['auc_disjoint'])}), TPR@1% ×{a['tpr_at_1pct_fpr_ratio']:.2f}, "
              f"TPR@10% ×{a['tpr_at_10pct_fpr_ratio']:.2f} "
              f"(disjoint {bool(a['tpr_at_10pct_fpr_disjoint'])})")
    s = m["stealth"]
    if "clean.heldout_accuracy" in s:  # the vision audit: accuracy beside the loss
        print(f"stealth: held-out accuracy clean {s['clean.heldout_accuracy']:.3f} → poisoned "
              f"{s['poisoned.heldout_accuracy']:.3f}; after finetuning (victims' mean) clean "
              f"{s['clean.victim_heldout_accuracy']:.3f}, poisoned "
              f"{s['poisoned.victim_heldout_accuracy']:.3f}")
    print(f"stealth: generic held-out loss clean {s['clean.heldout_loss']:.3f} → poisoned "
          f"{s['poisoned.heldout_loss']:.3f} ({100 * s['stealth_heldout_loss_increase']:+.1f} %); "
          f"target loss {s['clean.target_loss']:.3f} → {s['poisoned.target_loss']:.3f}; "
          f"after finetuning (victims' mean) held-out loss clean "
          f"{s['clean.victim_heldout_loss']:.3f}, poisoned {s['poisoned.victim_heldout_loss']:.3f}"
          + (f"; target loss clean {s['clean.victim_target_loss']:.3f}, poisoned "
             f"{s['poisoned.victim_target_loss']:.3f}" if "clean.victim_target_loss" in s else ""))


if __name__ == "__main__":
    main()
