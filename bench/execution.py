"""Models per hour and peak memory of the pretrain fleet in every execution mode, side by side.

Trains the same N models of the default audit (their real halves of the pool) in each mode and
checks that every mode writes bit-identical weights. Parallel modes include their start-up
(Prefect's ephemeral API, worker processes), as a user pays it.

    python bench/execution.py [--models 16] [--audit]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
import torch

from leakaudit.core import store
from leakaudit.tmi import fleet
from leakaudit.tmi.data import load_source
from leakaudit.tmi.data.splits import assign_roles, membership
from leakaudit.tmi.params import load_params

MODES = [("sequential", {}), ("threads", {"workers": 2}), ("processes", {"workers": 2}),
         ("dask", {"workers": 2})]


def tree_rss() -> int:
    """Resident memory of this process and all its children, in bytes."""
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=16)
    ap.add_argument("--audit", action="store_true",
                    help="also run the default audit with sequential and batched pretraining")
    args = ap.parse_args()
    base = load_params("params.yaml")
    base = base.for_replicate(base.replicates.seeds[0])
    points = assign_roles(load_source(base), base.prepare, base.base.seed)
    mem = membership(points, base.prepare, base.base.seed)
    src = points.set_index("point_id").source_index
    test_idx = src[points.point_id[points.role == "pretrain_test"]].to_numpy()
    ids = list(range(args.models))
    idx = {m: src[g.point_id[g.trained]].to_numpy() for m, g in mem.groupby("model_id")
           if m in ids}
    prints = {m: f"bench{m}" for m in ids}
    reference = None
    print(f"{args.models} pretrain models of the default audit, 2 cores")
    print(f"{'mode':<12}{'wall s':>8}{'models/h':>10}{'× seq':>7}{'peak RSS MB':>13}  identical")
    print("(batched rows: RSS at the end, and the largest weight difference to sequential)")
    seq_rate = None
    for mode, extra in MODES:
        p = base.model_copy(update={"execution": base.execution.model_copy(
            update={"executor": mode, **extra})})
        root = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
        peak, stop = [tree_rss()], threading.Event()

        def sample(peak=peak, stop=stop) -> None:
            while not stop.wait(0.2):
                peak[0] = max(peak[0], tree_rss())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        fleet.run_fleet(root, ids, prints, fleet.pretrain_job,
                        lambda m, d, par, p=p: (p, m, idx[m], test_idx, d, prints[m], par),
                        p.execution, mode)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        states = {m: store.load_model_state(store.model_dir(root, m)) for m in ids}
        if reference is None:
            reference = states
        same = all(torch.equal(reference[m][k], states[m][k]) for m in ids for k in states[m])
        rate = 3600 * len(ids) / wall
        seq_rate = seq_rate or rate
        print(f"{mode:<12}{wall:8.1f}{rate:10.0f}{rate / seq_rate:7.2f}{peak[0] / 2**20:13.0f}"
              f"  {same}")
    # batched ensembles through the same fleet path the pretrain stage uses
    for group in (8, 16):
        p = base.model_copy(update={"execution": base.execution.model_copy(
            update={"executor": "batched", "group_size": group})})
        root = Path(tempfile.mkdtemp(prefix=f"bench-batched{group}-"))
        t0 = time.perf_counter()
        fleet.run_fleet(root, ids, prints, fleet.pretrain_job,
                        lambda m, d, par, p=p: (p, m, idx[m], test_idx, d, prints[m], par),
                        p.execution, f"batched{group}", fleet.pretrain_group_job,
                        lambda ms, ds, p=p: (p, ms, [idx[m] for m in ms], test_idx, ds,
                                             [prints[m] for m in ms]))
        wall = time.perf_counter() - t0
        worst = 0.0
        for m in ids:
            st = store.load_model_state(store.model_dir(root, m))
            worst = max(worst, max((st[k] - reference[m][k]).abs().max().item() for k in st))
        rate = 3600 * len(ids) / wall
        print(f"{'batched G=' + str(group):<12}{wall:8.1f}{rate:10.0f}{rate / seq_rate:7.2f}"
              f"{tree_rss() / 2**20:13.0f}  max |Δw| {worst:.1e}")
    if args.audit:
        audit_metrics()


def audit_metrics() -> None:
    """The default audit's attack metrics with sequential and batched pretraining, side by side
    (``dvc exp run`` in the workspace, sequential last so the workspace ends as committed; the
    other executors give bit-identical models, hence equal metrics)."""
    import json
    import subprocess

    rows = {}
    for mode in ("batched", "sequential"):
        subprocess.run(["dvc", "exp", "run", "--set-param",
                        f"execution.executor={mode}"], check=True, capture_output=True)
        rows[mode] = json.loads(Path("metrics.json").read_text())
    print("\ndefault audit, attack AUC and TPR@1%FPR: sequential vs batched (G=16) pretraining")
    from leakaudit.tmi.attacks.registry import ATTACKS

    for attack in ATTACKS:
        a, b = rows["sequential"][attack], rows["batched"][attack]
        print(f"{attack:<14} AUC {a['auc']:.4f} vs {b['auc']:.4f}   "
              f"TPR@1% {a['tpr_at_1pct_fpr']:.3f} vs {b['tpr_at_1pct_fpr']:.3f}")


if __name__ == "__main__":
    main()
