"""The two arms of a privacy-backdoor audit and what poisoning each gets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.layout import ARMS, arm_dir, victim_dir

RELEASED = -1  # victim_id of a released checkpoint's rows in the score tables


def arm_schedule(arm: str, poison: Any) -> tuple[int, float]:
    """(steps, α) of an arm: the poisoned arm runs ``poison.steps`` at ``poison.alpha``; the
    clean arm is the base model (0 steps) or, with ``clean_arm: aux_only``, the same steps on
    aux data alone (α = 0)."""
    steps = poison.steps if arm == "poisoned" or poison.clean_arm == "aux_only" else 0
    return steps, (poison.alpha if arm == "poisoned" else 0.0)


def score_every_model(n_victims: int, candidate_ids: np.ndarray,
                      score: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Scores of every candidate under each arm's released checkpoint (victim_id
    :data:`RELEASED`, for the calibrated score) and every victim: ``score(model_dir)`` gives
    one column per score, one row per candidate; rows gain arm, victim_id, candidate_id."""
    frames = []
    for arm in ARMS:
        for v in [RELEASED, *range(n_victims)]:
            df = score(arm_dir(arm) if v == RELEASED else victim_dir(arm, v))
            df.insert(0, "candidate_id", candidate_ids)
            df.insert(0, "victim_id", v)
            df.insert(0, "arm", arm)
            frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    table["victim_id"] = table.victim_id.astype("int64")
    return table
