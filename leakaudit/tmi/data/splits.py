"""Seeded splits: pool / held-out / finetuning roles, challenge points, balanced masks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakaudit.core.membership import balanced_mask
from leakaudit.core.seeds import rng
from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.params import PrepareParams


def balanced_order(order: np.ndarray, labels: np.ndarray, g: np.random.Generator) -> np.ndarray:
    """The first n points of every class in ``order`` (n = the rarest class's count), in a
    fresh seeded order: every prefix then holds the classes in about equal shares."""
    if not len(order):
        return order
    y = labels[order]
    classes, counts = np.unique(y, return_counts=True)
    keep = np.concatenate([np.flatnonzero(y == c)[: counts.min()] for c in classes])
    return g.permutation(order[np.sort(keep)])


def _need(what: str, need: int, have: int) -> None:
    if need > have:
        raise ValueError(f"prepare: {what} needs {need} images but the source has {have}")


def assign_roles(data: TransferData, p: PrepareParams, seed: int) -> pd.DataFrame:
    """The points table: every image the audit uses, with its role and labels."""
    g = rng(seed, "roles")
    rows: list[pd.DataFrame] = []

    def block(collection: str, idx: np.ndarray, labels: np.ndarray, role: str) -> None:
        rows.append(pd.DataFrame({
            "collection": collection, "source_index": idx.astype(np.int64),
            "label": labels[idx].astype(np.int64), "role": role,
        }))

    up_perm = g.permutation(len(data.up_y))
    if p.balance_classes and data.same_collection:
        up_perm = balanced_order(up_perm, data.down_y, g)
    n_up = p.n_pool + p.n_pretrain_test
    _need("pool + pretrain test", n_up, len(up_perm))
    block("up", up_perm[: p.n_pool], data.up_y, "pool")
    block("up", up_perm[p.n_pool : n_up], data.up_y, "pretrain_test")
    if data.same_collection:
        down_perm = up_perm[n_up:]
    else:
        down_perm = g.permutation(len(data.down_y))
        if p.balance_classes:
            down_perm = balanced_order(down_perm, data.down_y, g)
    n_ft = p.n_finetune_pool or len(down_perm) - p.n_finetune_test
    _need("finetune test + pool", p.n_finetune_test + n_ft, len(down_perm))
    block("down", down_perm[: p.n_finetune_test], data.down_y, "finetune_test")
    block("down", down_perm[p.n_finetune_test : p.n_finetune_test + n_ft], data.down_y, "finetune")

    points = pd.concat(rows, ignore_index=True)
    points.insert(0, "point_id", np.arange(len(points), dtype=np.int64))
    pool = points.index[points.role == "pool"].to_numpy()
    challenge = g.choice(pool, size=p.n_challenge, replace=False)
    points["challenge"] = False
    points.loc[challenge, "challenge"] = True
    return points


def membership(points: pd.DataFrame, p: PrepareParams, seed: int) -> pd.DataFrame:
    """Long table model × pool point: ``trained`` (the point is in the model's pretraining set)."""
    pool = points.loc[points.role == "pool", "point_id"].to_numpy()
    trained = balanced_mask(len(pool), p.n_models, seed, "membership")
    models = np.arange(p.n_models, dtype=np.int64)
    return pd.DataFrame({
        "model_id": np.tile(models, len(pool)),
        "point_id": np.repeat(pool, p.n_models),
        "trained": trained.reshape(-1),
    })


def population(points: pd.DataFrame, n: int) -> pd.DataFrame:
    """RMIA's population points z: the first ``n`` held-out upstream points (``pretrain_test``
    role, by point id; 0 = all of them). No audited model trained on any of them."""
    held = points[points.role == "pretrain_test"].sort_values("point_id")
    return held if n == 0 else held.head(n)


def null_labels(n_models: int, n_points: int, seed: int, draw: int) -> np.ndarray:
    """Bool [model, point] labels for the null control: independent fair coins, so they carry
    nothing the models saw and nothing of the pair structure of the real masks."""
    return rng(seed, "null-labels", draw).random((n_models, n_points)) < 0.5


def finetune_subsets(points: pd.DataFrame, p: PrepareParams, seed: int) -> pd.DataFrame:
    """Per model, a fresh seeded subsample (``finetune_fraction``) of the finetuning pool."""
    ft = points.loc[points.role == "finetune", "point_id"].to_numpy()
    k = max(1, round(p.finetune_fraction * len(ft)))
    frames = [
        pd.DataFrame({"model_id": m, "point_id": np.sort(rng(seed, "finetune-subset", m)
                                                        .choice(ft, size=k, replace=False))})
        for m in range(p.n_models)
    ]
    out = pd.concat(frames, ignore_index=True)
    out["model_id"] = out["model_id"].astype(np.int64)
    return out


def victims(n_models: int, n_victims: int, seed: int) -> np.ndarray:
    """Seeded choice of ``n_victims / 2`` complementary pairs (sorted model ids).

    Whole pairs make the victims' labels exactly balanced on every point, and a pair shares
    one shadow set (every model but the two), so its metaclassifiers are trained once."""
    if n_victims % 2 or not 0 < n_victims <= n_models:
        raise ValueError(f"attack.n_victims: got {n_victims}; allowed: an even number "
                         f"from 2 to prepare.n_models ({n_models})")
    pairs = rng(seed, "victim-pairs").choice(n_models // 2, size=n_victims // 2, replace=False)
    return np.sort(np.r_[2 * pairs, 2 * pairs + 1])
