"""Compute every inspection signal a checkpoint and the given data allow
(:mod:`leakaudit.inspect.signals`); unavailable ones are None and say why."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leakaudit.core.seeds import rng
from leakaudit.inspect import signals as sig
from leakaudit.inspect.checkpoint import Checkpoint
from leakaudit.inspect.records import OPS, CanaryTest, finetune_copy

# every signal: what it needs, and what it says (the explanation's sentence)
SIGNALS: dict[str, tuple[str, str]] = {
    "tail_excess": ("your records", "log excess of your records above the public probes' "
                    "99.5th-percentile loss (a raised-loss poison lifts its targets there)"),
    "low_tail_excess": ("your records", "log excess of your records below the public probes' "
                        "0.5th-percentile loss (a memorising poison drops its targets there)"),
    "canary_gap": ("your records", "a few finetuning steps write more membership into your "
                   "highest-loss records than into the public probes' (log-loss drop, "
                   "trained minus held back, yours minus public)"),
    "public_loss": ("public probes", "mean loss on the public probes"),
    "ece": ("a classifier", "expected calibration error on the public probes"),
    "family_gap": ("a causal LM", "median loss on format-matched probes minus generic text"),
    "shift_excess": ("your records and --reference", "log excess of your records the release "
                     "moved (loss, either way) more than 99.5 % of the public probes"),
    "drift": ("--reference", "largest relative change of any weight matrix vs the reference"),
}


CANARY = CanaryTest()


@dataclass
class Inspection:
    """The signals of one checkpoint (None: not available, ``missing`` says why)."""

    path: str
    family: str
    kind: str
    values: dict[str, float | None]
    missing: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    # with a benign baseline (:mod:`leakaudit.inspect.baseline`): each signal's values over the
    # continuations, and the release's excess over their mean
    baseline: dict[str, list[float | None]] | None = None
    calibrated: dict[str, float | None] | None = None


def inspect(ck: Checkpoint, user: Any = None, public: Any = None,
            reference: Checkpoint | None = None, seed: int = 0,
            canary: CanaryTest = CANARY, n_public: int | None = None) -> Inspection:
    """Every signal ``ck`` allows: ``user`` are the user's own records (what they will finetune
    on), ``public`` format-matched public probes (the family's offline default if None),
    ``reference`` a clean checkpoint of the same architecture."""
    start = time.perf_counter()
    values: dict[str, float | None] = dict.fromkeys(SIGNALS)
    missing: dict[str, str] = {}
    ops = OPS.get(ck.family)
    if reference is not None:
        values["drift"] = sig.drift(ck.state(), reference.state())
    if ops is not None and public is None:
        public = ops.public(ck, n_public or ops.n_public, seed)
    counts = {}
    if ops is not None and public is not None:
        pub = ops.losses(ck, ck.model, public)
        values["public_loss"] = float(pub.mean())
        counts["public"] = len(pub)
        if ck.family == "classifier":
            from leakaudit.backdoor.vision.model import classifier_metrics

            values["ece"] = classifier_metrics(ck.model, public.x, public.y)["ece"]
        else:
            generic = ops.generic(n_public or ops.n_public, seed)
            if generic is not None:
                values["family_gap"] = sig.family_gap(pub, ops.losses(ck, ck.model, generic))
        if user is not None:
            mine = ops.losses(ck, ck.model, user)
            counts["user"] = len(mine)
            values["tail_excess"] = sig.tail_excess(mine, pub)
            values["low_tail_excess"] = sig.low_tail_excess(mine, pub)
            values["canary_gap"] = _canary(ops, ck, user, public, mine, pub, seed, canary)
            if reference is not None:
                values["shift_excess"] = sig.shift_excess(
                    sig.loss_shift(mine, ops.losses(reference, reference.model, user)),
                    sig.loss_shift(pub, ops.losses(reference, reference.model, public)))
    for name, (needs, _) in SIGNALS.items():
        if values[name] is None:
            missing[name] = f"needs {needs}"
    return Inspection(str(ck.path), ck.family, ck.kind, values, missing,
                      time.perf_counter() - start, counts)


def _canary(ops: Any, ck: Checkpoint, user: Any, public: Any, mine: np.ndarray,
            pub: np.ndarray, seed: int, test: CanaryTest) -> float:
    """:func:`leakaudit.inspect.signals.canary_gap` of the user's highest-loss records minus
    that of the public probes' highest-loss ones, both trained in one short finetuning run
    (half of each group, with ``test.filler`` other user records)."""
    m = min(test.canaries, len(mine) // 4, len(pub) // 4)
    r = rng(seed, "inspect-canary-split")
    suspects_u, suspects_p = np.argsort(-mine)[:m], np.argsort(-pub)[:m]
    trained_u, trained_p = r.permutation(m) < m // 2, r.permutation(m) < m // 2
    others = np.setdiff1d(np.arange(len(mine)), suspects_u)
    filler = r.choice(others, min(test.filler, len(others)), replace=False)
    train = ops.join(ops.take(user, np.concatenate([suspects_u[trained_u], filler])),
                     ops.take(public, suspects_p[trained_p]))
    model = finetune_copy(ops, ck, train, test.steps, test.batch, seed)
    after_u = ops.losses(ck, model, ops.take(user, suspects_u))
    after_p = ops.losses(ck, model, ops.take(public, suspects_p))
    return (sig.canary_gap(mine[suspects_u], after_u, trained_u)
            - sig.canary_gap(pub[suspects_p], after_p, trained_p))
