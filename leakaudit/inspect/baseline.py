"""Self-calibration against the user's own benign baseline: a few benign continuations of the
``--reference`` (Adam steps on public probes), inspected exactly like the release. Each signal
of the release is then read as its excess over those continuations' mean, so what the base
model itself does to the user's records against public ones (the offset that kept one tuning
seed's threshold from transferring to other base models) cancels.

The public probes are split once: one share trains the continuations, the rest probes every
checkpoint (release and continuations alike), so no probe was trained on by a baseline."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from leakaudit.core.seeds import rng
from leakaudit.inspect.checkpoint import Checkpoint
from leakaudit.inspect.inspector import Inspection, inspect
from leakaudit.inspect.records import Ops, finetune_copy


@dataclass(frozen=True)
class BenignBaseline:
    """How the baseline is made: ``continuations`` batch orders of ``steps`` Adam steps
    (batch ``batch``, the family's victim learning rate) on ``share`` of the public probes.
    Fixed before any evaluation (docs/inspect-checkpoint.md), not tuned."""

    continuations: int = 4
    steps: int = 500
    batch: int = 64
    share: float = 0.5


def split_public(ops: Ops, public: Any, seed: int, share: float) -> tuple[Any, Any]:
    """(records the continuations train on, records every checkpoint is probed with)."""
    n = ops.size(public)
    train = rng(seed, "inspect-baseline-split").permutation(n) < int(round(share * n))
    if train.sum() == 0 or (~train).sum() < 100:
        raise ValueError(f"the public probes ({n}) are too few to split for a benign baseline "
                         f"(share {share}: need ≥ 100 left to probe with)")
    return ops.take(public, np.flatnonzero(train)), ops.take(public, np.flatnonzero(~train))


def continuations(ops: Ops, reference: Checkpoint, train: Any, cfg: BenignBaseline,
                  seed: int) -> list[Checkpoint]:
    """``cfg.continuations`` benign continuations of the reference, one per batch order."""
    return [replace(reference, path=Path(f"{reference.path}#benign-{k}"),
                    model=finetune_copy(ops, reference, train, cfg.steps, cfg.batch, seed,
                                        f"inspect-baseline-{k}"))
            for k in range(cfg.continuations)]


def excess(values: dict[str, float | None], baseline: list[dict[str, float | None]]
           ) -> dict[str, float | None]:
    """Each signal minus its mean over the benign continuations (None where either lacks it)."""
    out: dict[str, float | None] = {}
    for name, v in values.items():
        base = [b[name] for b in baseline if b.get(name) is not None]
        out[name] = None if v is None or len(base) < len(baseline) or not base \
            else float(v - np.mean(base))
    return out


def inspect_calibrated(ck: Checkpoint, user: Any, public: Any, reference: Checkpoint,
                       seed: int = 0, cfg: BenignBaseline = BenignBaseline(),
                       n_public: int | None = None, baseline: list[dict] | None = None
                       ) -> Inspection:
    """:func:`~leakaudit.inspect.inspector.inspect` of ``ck`` on the probing share of the
    public probes, with its excess over benign continuations of ``reference`` (their signals
    ``baseline``, computed here unless given: they depend only on the reference and data)."""
    from leakaudit.inspect.records import OPS

    ops = OPS.get(ck.family)
    if ops is None or user is None:
        raise ValueError("a benign baseline needs your records (--probe-data) and a checkpoint "
                         f"family with record signals ({sorted(OPS)}); got {ck.family}")
    start = time.perf_counter()
    if public is None:
        public = ops.public(ck, n_public or ops.n_public, seed)
    if public is None:
        raise ValueError(f"{ck.path}: no default public probes for this {ck.kind}; pass "
                         "--public-data")
    train, probe = split_public(ops, public, seed, cfg.share)
    if baseline is None:
        baseline = [inspect(c, user, probe, reference, seed).values
                    for c in continuations(ops, reference, train, cfg, seed)]
    ins = inspect(ck, user, probe, reference, seed)
    ins.baseline = {name: [b[name] for b in baseline] for name in ins.values}
    ins.calibrated = excess(ins.values, baseline)
    ins.seconds = time.perf_counter() - start
    return ins
