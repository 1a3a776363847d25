"""The privacy-backdoor audits from an empty cache, over replicates: clean vs poisoned side by
side, best-vs-best first.

For each seed, copies the repo, runs `dvc repro` in the pipeline's folder (after ``--set
key=value`` changes to its params.yaml and ``base.seed=<seed>``), then evaluates all the
replicates together (:mod:`leakaudit.backdoor.evaluation`: two-way cluster bootstrap per
replicate, hierarchical over replicates, arms paired) and prints the best-vs-best
amplification, each score's, the target specificity, stealth against every control and the
wall times.

    python bench/backdoor.py --pipeline backdoor-vision --seeds 1 2 3 [--set poison.alpha=0.5]
    python bench/backdoor.py --seeds 0 --keep DIR        # the LM audit, tuning seed
    python bench/backdoor.py --report DIR [DIR ...]       # re-evaluate kept runs
    python bench/backdoor.py --pipeline backdoor-vision --from KEPT --keep DIR \
        --set victims.mode=lora                           # reuse kept runs' released models
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ROOT, copy_repo, set_params, timed  # noqa: E402

from leakaudit.backdoor.analysis import BEST, candidate_scores  # noqa: E402
from leakaudit.backdoor.evaluation import (  # noqa: E402
    evaluation_tables,
    read_run,
    summary_json,
)
from leakaudit.backdoor.pipeline import BackdoorPipeline  # noqa: E402
from leakaudit.backdoor.report import DP_HEADER, dp_summary  # noqa: E402
from leakaudit.core.layout import read_record  # noqa: E402
from leakaudit.core.registry import get as get_pipeline  # noqa: E402
from leakaudit.core.registry import of_kind  # noqa: E402

METRICS = ("auc", "tpr_at_1pct_fpr", "tpr_at_10pct_fpr")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--pipeline", choices=of_kind(BackdoorPipeline), default="backdoor")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                    help="replicates (seed 0 is the tuning seed: report on others)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs under DIR/seed-<s>")
    ap.add_argument("--from", dest="start", type=Path, default=None,
                    help="start each seed from the kept run START/seed-<s> (its DVC cache and "
                    "models): only the stages the --set changes rerun (a mode or serving "
                    "sweep over the same released checkpoints)")
    ap.add_argument("--report", type=Path, nargs="+", default=None,
                    help="only evaluate kept runs (their pipeline folders)")
    args = ap.parse_args()
    pipe = get_pipeline(args.pipeline).folder
    walls: dict[int, float] = {}
    if args.report:
        folders = {yaml.safe_load((d / "params.yaml").read_text())["base"]["seed"]: d
                   for d in args.report}
        if len(folders) < len(args.report):
            ap.error("--report: two folders have the same base.seed (replicates need their own)")
    else:
        keep = args.keep or Path(tempfile.mkdtemp(prefix="bench-backdoor-"))
        folders = {}
        for seed in args.seeds:
            if args.start:
                repo = keep / f"seed-{seed}"
                shutil.copytree(args.start / f"seed-{seed}", repo, symlinks=True,
                                ignore=shutil.ignore_patterns("mlflow.db", "mlruns"))
            else:
                repo = copy_repo(keep / f"seed-{seed}")
                shutil.copytree(ROOT / pipe, repo / pipe, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(
                                    "outputs", "models", "plots", "mlflow.db", "mlruns",
                                    "metrics.json", "dvc.lock", "sweeps"))
            changes = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
            set_params(repo / pipe / "params.yaml", **changes, **{"base.seed": seed})
            walls[seed] = timed([str(BIN / "dvc"), "repro"], repo / pipe)
            folders[seed] = repo / pipe
    label = f"{pipe} " + (" ".join(args.set) or "(default)") + (
        f" (from the kept runs in {args.start}: walls are the reruns only)" if args.start else "")
    report(args.pipeline, folders, walls, label, fresh=args.start is None)


def report(pipeline: str, folders: dict[int, Path], walls: dict[int, float], label: str,
           fresh: bool = True) -> None:
    """Evaluate the replicates together and print the audit's tables."""
    pipe = get_pipeline(pipeline)
    runs = {seed: read_run(pipe, d) for seed, d in folders.items()}
    params = yaml.safe_load(next(iter(folders.values())).joinpath("params.yaml").read_text())
    p = pipe.params.model_validate(params)
    table, picks = evaluation_tables(runs, pipe.scores, p)
    top = table[table.replicate == -1].set_index(["candidates", "attack", "metric"])
    seeds = sorted(runs)
    print(f"backdoor audit {label}: seeds {seeds}; wall "
          + (f"median {statistics.median(walls.values()):.0f} s per replicate "
             + ("from an empty cache" if fresh else "(the reruns)") if walls
             else "(existing runs)"))
    print(f"best score per arm (chosen on the other half of the targets): {picks}")
    print(f"  {'score':<11}{'arm':<16}" + "".join(f"{k:>30}" for k in METRICS))
    for name in (BEST, *candidate_scores(pipe.scores)):
        for arm in ("clean", "poisoned"):
            print(f"  {name:<11}{arm:<16}" + "".join(
                _cell(top, "targets", f"{arm}:{name}", m) for m in METRICS))
        print(f"  {'':<11}{'poisoned/clean':<16}" + "".join(
            _cell(top, "targets", f"amplification:{name}",
                  f"{m}_{'diff' if m == 'auc' else 'ratio'}") for m in METRICS))
    per = table[(table.replicate >= 0) & (table.attack == f"amplification:{BEST}")
                & (table.metric == "tpr_at_1pct_fpr_ratio")]
    print("best-vs-best TPR@1% ratio per replicate: " + ", ".join(
        f"seed {r.replicate} {r.value:.2f} [{r.low:.2f}, {r.high:.2f}]"
        + ("" if r.reliable else f" ({r.negatives:.0f} negatives: unreliable)")
        for r in per.itertuples()))
    print("target specificity (poisoned arm, targets vs non-targets):")
    for name in ("neg_loss", "calibrated"):
        print(f"  {name:<11}" + "".join(_cell(top, "targets", f"specificity:{name}",
                                              f"{m}_{'diff' if m == 'auc' else 'ratio'}")
                                        for m in METRICS))
    print("non-targets, poisoned/clean:")
    for name in ("neg_loss", "calibrated"):
        print(f"  {name:<11}" + "".join(_cell(top, "non_targets", f"amplification:{name}",
                                              f"{m}_{'diff' if m == 'auc' else 'ratio'}")
                                        for m in METRICS))
    st = table[(table.candidates == "audit")]
    wide = st.pivot(index="metric", columns="replicate", values="value")
    shown = [m for m in wide.index if m.startswith("stealth.") or m.endswith(
        ("heldout_loss", "heldout_accuracy", "heldout_ece", "target_loss",
         "trainable_parameters"))]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print("stealth and utility per replicate (−1 = mean):")
        print(wide.loc[shown].round(4).to_string())
    dp = dp_summary(summary_json(table))
    if dp:
        print(f"DP audit (all replicates pooled): {dp[0]}")
        for row in dp[1]:
            print(f"  {row[0]:<26}" + ", ".join(
                f"{h} {c}" for h, c in zip(DP_HEADER[1:], row[1:], strict=True) if c))
    if walls:
        seconds = {}
        for d in folders.values():
            for rec in sorted((d / "outputs").glob("*/stage.json")):
                seconds.setdefault(rec.parent.name, []).append(
                    read_record(rec.parent).get("compute_seconds", float("nan")))
        print("stage compute seconds (median over replicates): " + ", ".join(
            f"{k} {statistics.median(v):.0f}" for k, v in seconds.items()))


def _cell(top: pd.DataFrame, group: str, attack: str, metric: str) -> str:
    key = (group, attack, metric)
    if key not in top.index:
        return f"{'–':>30}"
    r = top.loc[key]
    flag = "" if r.reliable else "!"
    return f"{r.value:>9.3f}{flag:1} [{r.low:.3f}, {r.high:.3f}] n={r.negatives:<4.0f}" \
        if metric.startswith("tpr") else f"{r.value:>9.3f}  [{r.low:.3f}, {r.high:.3f}]      "


if __name__ == "__main__":
    main()
