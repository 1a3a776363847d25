"""A registry of attacks: name → pure function of :class:`AttackInputs` and params."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from leakaudit.attacks.features import scaled_logodds
from leakaudit.attacks.lira import adapted_lira, whitebox_lira
from leakaudit.attacks.threshold import confidence_threshold
from leakaudit.attacks.tmi import tmi_scores
from leakaudit.config import AttackParams
from leakaudit.seeds import torch_generator


@dataclass(frozen=True)
class AttackInputs:
    """Everything an attack may read. Arrays are indexed [model, point, view, class]."""

    probs: np.ndarray
    logodds: np.ndarray
    member: np.ndarray  # [M, T] membership labels
    victims: np.ndarray  # victim model indices
    labels: np.ndarray  # [T] true upstream labels
    logodds_pre: np.ndarray | None = None  # pretrained models' signals (white box)


Attack = Callable[[AttackInputs, AttackParams, int], np.ndarray]

ATTACKS: dict[str, Attack] = {
    "tmi": lambda x, p, seed: tmi_scores(
        scaled_logodds(x.logodds), x.member, x.victims, p.tmi, torch_generator(seed, "tmi")
    ),
    "lira": lambda x, p, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.victims, p.lira.covariance, p.lira.ridge
    ),
    # the same likelihood ratio with per-view variances only: far fewer parameters to fit
    # from M/2 shadows than the reference's full A×A covariance
    "lira_diag": lambda x, p, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.victims, "diag", p.lira.ridge
    ),
    "threshold": lambda x, p, seed: confidence_threshold(x.probs, x.victims),
    "whitebox_lira": lambda x, p, seed: whitebox_lira(
        _require(x.logodds_pre), x.labels, x.member, x.victims, p.lira.covariance, p.lira.ridge
    ),
}


def _require(a: np.ndarray | None) -> np.ndarray:
    if a is None:
        raise ValueError("whitebox_lira needs the pretrained models' signals")
    return a


def run_attack(name: str, inputs: AttackInputs, p: AttackParams, seed: int) -> np.ndarray:
    """Scores [V, T] of the named attack."""
    return ATTACKS[name](inputs, p, seed)
