"""The two arms of a privacy-backdoor audit, the stealth controls, and what training each
checkpoint gets.

A *kind* of checkpoint says how it is trained from the base model:

- ``base``: unchanged (0 steps);
- ``aux_only``: the poisoning steps on aux data alone (α = 0) — separates poisoning from
  training longer;
- ``decoy``: the poisoning run (same variant, α, steps, schedule) on fresh non-candidate decoys
  in place of the targets — keeps whatever the poison teaches about the data's *format*, so
  only the targets' identity differs from the poisoned arm;
- ``poisoned``: the poisoning run on the attacker's targets.

The poisoned arm is ``poisoned``; the clean arm is ``poison.clean_arm``; stealth is measured
against the clean arm and every ``poison.stealth_controls`` kind (trained for that only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.core.layout import MODELS
from leakaudit.core.pipeline import Models
from leakaudit.core.progress import progress

ARMS = ("clean", "poisoned")  # the two released checkpoints a victim may download
BASE = Models("base")  # the benign base model (pretrained here, or the user's checkpoint)
RELEASED_MODELS = Models("released")  # one directory per arm: what a victim downloads
VICTIM_MODELS = Models("victims", persist=True)  # one directory per arm and victim

RELEASED = -1  # victim_id of a released checkpoint's rows in the score tables
KINDS = ("base", "aux_only", "decoy", "poisoned")


def arm_dir(arm: str) -> Path:
    """The released checkpoint of an arm (what a victim downloads)."""
    return MODELS / RELEASED_MODELS.name / arm


def victim_dir(arm: str, victim: int) -> Path:
    """The finetuned victim ``victim`` of an arm."""
    return MODELS / VICTIM_MODELS.name / arm / f"v{victim:03d}"


def arm_kind(arm: str, poison: Any) -> str:
    """The kind of checkpoint an arm releases (``poisoned``, or the clean arm's kind)."""
    return "poisoned" if arm == "poisoned" else poison.clean_arm


def kinds_to_train(poison: Any) -> list[str]:
    """Every kind the poison stage trains: both arms' and the stealth controls', once each."""
    return list(dict.fromkeys([*(arm_kind(a, poison) for a in ARMS),
                               *poison.stealth_controls]))


def schedule(kind: str, poison: Any) -> tuple[int, float, str]:
    """(steps, α, target data) of a kind: the data is ``targets``, ``decoys`` or ``none``."""
    if kind == "base":
        return 0, 0.0, "none"
    if kind == "aux_only":
        return poison.steps, 0.0, "none"
    return poison.steps, poison.alpha, "decoys" if kind == "decoy" else "targets"


def stealth(metrics: dict[str, float], poison: Any, names: tuple[str, ...]) -> dict[str, float]:
    """The poisoned checkpoint against the clean arm and each stealth control: for every
    measured ``name`` (e.g. ``heldout_loss``) the relative increase of a loss, the drop of an
    accuracy, the difference of a calibration error (``ece``) —
    ``vs_<reference>.<name>_increase|_drop|_diff``."""
    refs = dict.fromkeys(["clean", *poison.stealth_controls])
    out = {}
    for ref in refs:
        kind = arm_kind("clean", poison) if ref == "clean" else ref
        for name in names:
            p, c = metrics[f"poisoned.{name}"], metrics[f"{kind}.{name}"]
            if "accuracy" in name:
                out[f"vs_{ref}.{name}_drop"] = c - p
            elif "ece" in name:
                out[f"vs_{ref}.{name}_diff"] = p - c
            else:
                out[f"vs_{ref}.{name}_increase"] = p / c - 1 if c else float("nan")
    return out


def score_every_model(n_victims: int, candidate_ids: np.ndarray,
                      score: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Scores of every candidate under each arm's released checkpoint (victim_id
    :data:`RELEASED`, for the calibrated score) and every victim: ``score(model_dir)`` gives
    one column per score, one row per candidate; rows gain arm, victim_id, candidate_id."""
    frames = []
    models = [(arm, v) for arm in ARMS for v in [RELEASED, *range(n_victims)]]
    for arm, v in progress(models, "score", "model"):
        df = score(arm_dir(arm) if v == RELEASED else victim_dir(arm, v))
        df.insert(0, "candidate_id", candidate_ids)
        df.insert(0, "victim_id", v)
        df.insert(0, "arm", arm)
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    table["victim_id"] = table.victim_id.astype("int64")
    return table


def release_checkpoints(poison: Any, train: Callable[[str], tuple[Any, dict[str, float]]],
                        save: Callable[[Any, str], None], names: tuple[str, ...]
                        ) -> dict[str, float]:
    """Train every kind once (:func:`kinds_to_train`), save the ones the two arms release,
    and return the measurements: ``<kind>.<name>``, the same under ``clean.`` for the clean
    arm, and :func:`stealth`. ``train(kind)`` returns (model, {name: value}) — whatever the
    pipeline measures on its held-out and target data."""
    metrics: dict[str, float] = {}
    for kind in kinds_to_train(poison):
        model, measured = train(kind)
        metrics |= {f"{kind}.{k}": v for k, v in measured.items()}
        for arm in ARMS:
            if arm_kind(arm, poison) == kind:
                save(model, arm)
                if arm == "clean":
                    metrics |= {f"clean.{k}": v for k, v in measured.items()}
    return metrics | {f"stealth.{k}": v for k, v in stealth(metrics, poison, names).items()}
