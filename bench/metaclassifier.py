"""TMI metaclassifiers, three ways side by side on the default audit's signals (one labelling):

- **fused** (the pipeline's): the K shadow sets of a point as one wide MLP, hand-written
  backward, fused Adam (:mod:`leakaudit.tmi.attacks.tmi`);
- **per-set batched** (the previous pipeline code, ``bench/_per_set_metaclassifiers.py``): one
  narrow MLP per (set, point) stacked in [B, …] tensors, autograd;
- **one by one** (the reference): an nn.Module, DataLoader and optimizer per (set, point),
  extrapolated from ``--limit`` of them.

Same recipe for all (MLP C→64→ReLU→Dropout(0.5)→2, Adam 5e-3 / wd 5e-4, StepLR(7, 0.9), batch
64, 20 epochs). Prints wall times (median of ``--repeats``), speed ratios, every AUC with a
two-way clustered interval (victim pairs × points) and the paired AUC difference fused −
per-set, and the achieved GFLOP/s against fp32 matmul ceilings measured in the same run.

    make audit && python bench/metaclassifier.py [--repo DIR] [--limit N] [--repeats 3]
                                                 [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _per_set_metaclassifiers as per_set  # noqa: E402

from leakaudit.core.memory import keep_freed_memory  # noqa: E402
from leakaudit.core.metrics import auc, roc  # noqa: E402
from leakaudit.core.statistics import ScoreGrid, paired, per_unit, resample_units  # noqa: E402
from leakaudit.core.tables import read_table  # noqa: E402
from leakaudit.tmi import schemas  # noqa: E402
from leakaudit.tmi.attack_inputs import build_inputs  # noqa: E402
from leakaudit.tmi.attacks import tmi as fused  # noqa: E402
from leakaudit.tmi.attacks.features import scaled_logodds  # noqa: E402
from leakaudit.tmi.data.splits import population  # noqa: E402
from leakaudit.tmi.params import load_params  # noqa: E402
from leakaudit.tmi.signals import to_arrays  # noqa: E402


def one_by_one(u: np.ndarray, member: np.ndarray, shadows: np.ndarray,
               pairs: list[tuple[int, int, int]], p, seed: int) -> np.ndarray:
    """The reference's loop: a fresh model, loader and optimizer per (victim, point) on the
    same shadows (all but the victim's pair); rows class-weighted like the batched versions."""
    torch.manual_seed(seed)
    _, _, a, c = u.shape
    out = np.zeros(len(pairs))
    for i, (vi, v, t) in enumerate(pairs):
        others = np.nonzero(shadows[vi, t])[0]
        x = torch.from_numpy(u[others, t].reshape(-1, c))
        y = torch.from_numpy(member[others, t].astype(np.int64)).repeat_interleave(a)
        net = nn.Sequential(nn.Linear(c, p.hidden), nn.ReLU(), nn.Dropout(p.dropout),
                            nn.Linear(p.hidden, 2))
        opt = torch.optim.Adam(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=p.step_size, gamma=p.gamma)
        n_in = float(y.sum().clamp(1, len(y) - 1))
        w = torch.where(y.bool(), len(y) / (2 * n_in), len(y) / (2 * (len(y) - n_in)))
        loader = DataLoader(TensorDataset(x, y, w), batch_size=p.batch_size, shuffle=True)
        net.train()
        for _ in range(p.epochs):
            for xb, yb, wb in loader:
                opt.zero_grad()
                (nn.functional.cross_entropy(net(xb), yb, reduction="none") * wb).mean().backward()
                opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            out[i] = torch.softmax(net(torch.from_numpy(u[v, t])), -1)[:, 1].mean().item()
    return out


def ceiling(shape: tuple[int, int, int, int], repeats: int = 5) -> float:
    """GFLOP/s of an fp32 batched matmul [B, M, K] @ [B, K, N] (median of ``repeats``)."""
    b, m, k, n = shape
    x, y = torch.randn(b, m, k), torch.randn(b, k, n)
    torch.bmm(x, y)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.bmm(x, y)
        times.append(time.perf_counter() - t0)
    return 2 * b * m * k * n / statistics.median(times) / 1e9


def mlp_flops(n_rows: int, c: int, h: int, epochs: int) -> float:
    """Useful FLOPs of training: per row and epoch, the forward (C→H→2) and a backward of
    twice its cost."""
    return 3 * 2 * (c * h + 2 * h) * n_rows * epochs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--limit", type=int, default=200, help="one by one on the first N sets")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each batched way")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu",
                    help="where the fused trainer runs (cuda on a GPU machine; the others CPU)")
    ap.add_argument("--no-keep-memory", action="store_true",
                    help="leave glibc's malloc at its defaults (the stage keeps freed memory)")
    args = ap.parse_args()
    kept = False if args.no_keep_memory else keep_freed_memory()
    torch.set_num_threads(args.threads)
    params = load_params(args.repo / "params.yaml")
    seed = params.replicates.seeds[0]
    params = params.for_replicate(seed)
    run = args.repo / "outputs/replicates" / f"seed-{seed}"
    sig = run / "query/signals_finetuned.parquet"
    if not sig.exists():
        raise SystemExit(f"{sig} missing: run `make audit` (dvc repro) first")
    points = read_table(run / "prepare/points.parquet", schemas.POINTS)
    fin = to_arrays(read_table(sig, schemas.SIGNALS))
    pop = population(points, params.query.n_population).point_id.to_numpy()
    inputs = build_inputs(fin, read_table(run / "prepare/membership.parquet", schemas.MEMBERSHIP),
                          points, params.attack.n_victims, params.base.seed, None, pop)
    member, vict, shadows = inputs.member, inputs.victims, inputs.shadow_mask()
    u = scaled_logodds(inputs.logodds)
    p = params.attack.tmi
    _, t, a, c = u.shape
    pairs = [(vi, int(v), j) for vi, v in enumerate(vict) if v % 2 == 0 for j in range(t)]
    rows = int(shadows[0, 0].sum()) * a
    print(f"{len(pairs)} metaclassifiers ({len(vict) // 2} victim pairs × {t} points), {rows} "
          f"rows each, {c} features, {args.threads} threads, seed-{seed} signals, freed memory "
          f"{'kept' if kept else 'returned to the OS'}, fused on {args.device}")

    walls: dict[str, list[float]] = {"fused": [], "per-set batched": []}
    scores: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, mod in (("fused", fused), ("per-set batched", per_set)):
            extra = {"device": args.device} if mod is fused else {}
            t0 = time.perf_counter()
            scores[name] = mod.tmi_scores(u, member, shadows, vict, p,
                                          torch.Generator().manual_seed(0), **extra)
            walls[name].append(time.perf_counter() - t0)
    n = min(args.limit, len(pairs))
    t0 = time.perf_counter()
    ref = one_by_one(u, member, shadows, pairs[:n], p, 0)
    walls["one by one"] = [(time.perf_counter() - t0) * len(pairs) / n]

    labels = member[vict]
    # the audit's own two-way cluster bootstrap (victim pairs × points), paired across ways
    grid = ScoreGrid(scores={k: scores[k] for k in ("fused", "per-set batched")},
                     member=labels, victim_cluster=vict // 2, point_ids=np.arange(t))
    res = resample_units([grid], ["seed"], [0.01], 400, [np.random.default_rng(0)])
    flops = mlp_flops(len(pairs) * rows, c, p.hidden, p.epochs)
    print(f"\n{'way':<16}{'wall s (median)':>16}{'× one by one':>14}{'GFLOP/s':>9}  AUC [95 %]")
    for name, w in walls.items():
        med = statistics.median(w)
        ratio = statistics.median(walls["one by one"]) / med
        if name == "one by one":
            idx = [(vi, j) for vi, _, j in pairs[:n]]
            lab = np.array([labels[vi, j] for vi, j in idx])
            a_ = auc(*roc(ref, lab))
            same = auc(*roc(np.array([scores["fused"][vi, j] for vi, j in idx]), lab))
            tail = f"{a_:.3f} on {n} sets, extrapolated (fused on the same sets: {same:.3f})"
        else:
            s_ = per_unit(res, (name, "auc"), 0.95)[0]
            tail = f"{s_.value:.3f} [{s_.low:.3f}, {s_.high:.3f}]  runs: " + " ".join(
                f"{x:.1f}" for x in w)
        print(f"{name:<16}{med:>16.1f}{ratio:>13.1f}×{flops / med / 1e9:>9.1f}  {tail}")
    d = paired(res, "fused", "per-set batched", "auc", 0.95)[0]
    print(f"paired AUC difference fused − per-set: {d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]; "
          f"mean |Δscore| {np.abs(scores['fused'] - scores['per-set batched']).mean():.3f}")
    big = ceiling((1, 2048, 2048, 2048))
    narrow = ceiling((len(pairs), p.batch_size, c, p.hidden))
    wide = ceiling((t, p.batch_size, c, p.hidden * len(pairs) // t))
    print(f"fp32 matmul ceilings, same run: 2048² {big:.0f} GFLOP/s; the per-set first layer "
          f"[{len(pairs)}×{p.batch_size}×{c}]·[{c}×{p.hidden}] {narrow:.0f} GFLOP/s; the fused "
          f"one [{t}×{p.batch_size}×{c}]·[{c}×{p.hidden * len(pairs) // t}] {wide:.0f} GFLOP/s")
    print(f"fused: {flops / statistics.median(walls['fused']) / 1e9 / big:.1%} of the 2048² "
          f"ceiling (useful MLP FLOPs {flops / 1e9:.0f} G)")


if __name__ == "__main__":
    main()
