"""Models per hour and peak memory of the pretrain fleet in every execution mode, side by side.

Trains the same N models of the default audit (their real halves of the pool) in each mode and
checks that every mode writes bit-identical weights. Parallel modes include their start-up
(Prefect's ephemeral API, worker processes), as a user pays it.

    python bench/execution.py [--models 16]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
import torch

from leakaudit import fleet, store
from leakaudit.config import load_params
from leakaudit.data import load_source
from leakaudit.data.splits import assign_roles, membership

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
    args = ap.parse_args()
    base = load_params("params.yaml")
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
    # batched ensembles (library-level; not yet wired into the pretrain stage)
    from leakaudit.ensemble import train_ensemble
    from leakaudit.seeds import torch_generator

    torch.set_num_threads(base.base.threads)
    data = load_source(base)
    for group in (8, 16):
        t0 = time.perf_counter()
        worst = 0.0
        for start in range(0, len(ids), group):
            chunk = ids[start : start + group]
            models = [fleet.new_model(base, data, m) for m in chunk]
            train_ensemble(models, [torch.from_numpy(data.up_x[idx[m]]) for m in chunk],
                           [torch.from_numpy(data.up_y[idx[m]]) for m in chunk], base.pretrain,
                           [torch_generator(base.base.seed, "pretrain", m) for m in chunk])
            for m, model in zip(chunk, models, strict=True):
                st = model.state_dict()
                worst = max(worst, max((st[k] - reference[m][k]).abs().max().item() for k in st))
        wall = time.perf_counter() - t0
        rate = 3600 * len(ids) / wall
        print(f"{'batched G=' + str(group):<12}{wall:8.1f}{rate:10.0f}{rate / seq_rate:7.2f}"
              f"{tree_rss() / 2**20:13.0f}  max |Δw| {worst:.1e}")


if __name__ == "__main__":
    main()
