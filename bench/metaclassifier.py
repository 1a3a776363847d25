"""Batched TMI metaclassifiers vs training them one by one as the reference does.

Same inputs (the default audit's signals), same recipe (MLP C→64→ReLU→Dropout(0.5)→2, Adam
5e-3 / wd 5e-4, StepLR(7, 0.9), batch 64, 20 epochs). The one-by-one path builds an nn.Module,
a DataLoader and an optimizer per (victim, point), like the reference. Prints wall times, the
speed ratio and both AUCs (they differ only by random init/order: equal within noise).

    make audit && python bench/metaclassifier.py [--repo DIR] [--limit N] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from leakaudit.core.metrics import auc, roc
from leakaudit.core.tables import read_table
from leakaudit.tmi.attack_inputs import build_inputs
from leakaudit.tmi.attacks.features import scaled_logodds
from leakaudit.tmi.attacks.tmi import tmi_scores
from leakaudit.tmi.params import load_params
from leakaudit.tmi.signals import to_arrays


def one_by_one(u: np.ndarray, member: np.ndarray, shadows: np.ndarray,
               pairs: list[tuple[int, int, int]], p, seed: int) -> np.ndarray:
    """The reference's loop: a fresh model, loader and optimizer per (victim, point) on the
    same shadows as the batched version (all but the victim's pair); rows class-weighted like
    the batched version, so both train the same objective."""
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--limit", type=int, default=0, help="one-by-one on the first N pairs only")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed = load_params(args.repo / "params.yaml").replicates.seeds[0]
    params = load_params(args.repo / "params.yaml").for_replicate(seed)
    run = args.repo / "outputs/replicates" / f"seed-{seed}"
    sig = run / "query/signals_finetuned.parquet"
    if not sig.exists():
        raise SystemExit(f"{sig} missing: run `make audit` (dvc repro) first")
    fin = to_arrays(read_table(sig, "signals"))
    inputs = build_inputs(
        fin, read_table(run / "prepare/membership.parquet", "membership"),
        read_table(run / "prepare/points.parquet", "points"),
        params.attack.n_victims, params.base.seed,
    )
    member, vict, shadows = inputs.member, inputs.victims, inputs.shadow_mask()
    u = scaled_logodds(fin.logodds)
    p = params.attack.tmi
    # one metaclassifier per (victim pair, point): the first victim of each pair trains it
    pairs = [(vi, int(v), t) for vi, v in enumerate(vict) if v % 2 == 0
             for t in range(len(fin.point_ids))]
    n = args.limit or len(pairs)
    print(f"{len(pairs)} metaclassifiers ({len(vict) // 2} victim pairs × {len(fin.point_ids)} "
          f"points), {int(shadows[0, 0].sum()) * u.shape[2]} rows each, {args.threads} threads")

    t0 = time.perf_counter()
    scores = tmi_scores(u, member, shadows, vict, p, torch.Generator().manual_seed(0))
    t_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = one_by_one(u, member, shadows, pairs[:n], p, 0)
    t_ref = (time.perf_counter() - t0) * len(pairs) / n

    batched = np.array([scores[vi, t] for vi, _, t in pairs])
    labels = np.array([member[v, t] for _, v, t in pairs])

    def auc_of(s, y):
        return auc(*roc(s, y))

    print(f"batched    : {t_batched:8.1f} s  AUC {auc_of(batched, labels):.3f}")
    est = f" (extrapolated from {n})" if n < len(pairs) else ""
    print(f"one by one : {t_ref:8.1f} s{est}  AUC {auc_of(ref, labels[:n]):.3f}"
          f"  (batched on the same pairs: {auc_of(batched[:n], labels[:n]):.3f})")
    print(f"speed ratio (one by one / batched): {t_ref / t_batched:.1f}×")


if __name__ == "__main__":
    main()
