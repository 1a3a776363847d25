"""A registry of attacks: name → pure function of :class:`AttackInputs` and params."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from leakaudit.attacks.features import scaled_logodds
from leakaudit.attacks.lira import adapted_lira, whitebox_lira
from leakaudit.attacks.threshold import confidence_threshold
from leakaudit.attacks.tmi import tmi_scores
from leakaudit.config import AttackParams
from leakaudit.data.splits import victims as choose_victims
from leakaudit.seeds import rng, torch_generator
from leakaudit.signals import SignalArrays


@dataclass(frozen=True)
class AttackInputs:
    """Everything an attack may read. Arrays are indexed [model, point, view, class]."""

    probs: np.ndarray
    logodds: np.ndarray
    member: np.ndarray  # [M, T] membership labels
    victims: np.ndarray  # victim model indices
    labels: np.ndarray  # [T] true upstream labels
    logodds_pre: np.ndarray | None = None  # pretrained models' signals (white box)
    shadows: np.ndarray | None = None  # [V, M] bool: each victim's shadow models (None = all)

    def shadow_mask(self) -> np.ndarray:
        """[V, M]: the models each victim's attack may use as shadows (never the victim)."""
        m = self.member.shape[0]
        mask = np.ones((len(self.victims), m), bool) if self.shadows is None \
            else self.shadows.copy()
        mask[np.arange(len(self.victims)), self.victims] = False
        return mask


def build_inputs(
    fin: SignalArrays, members: pd.DataFrame, points: pd.DataFrame, n_victims: int, seed: int,
    pre: SignalArrays | None = None,
) -> AttackInputs:
    """Attack inputs from the signals arrays, the membership table (``member`` labels) and the
    points table (true upstream labels); victims are a seeded choice among the models."""
    member = (members.pivot(index="model_id", columns="point_id", values="member")
              .loc[fin.model_ids, fin.point_ids].to_numpy(bool))
    labels = points.set_index("point_id").loc[fin.point_ids, "label"].to_numpy()
    return AttackInputs(
        probs=fin.probs, logodds=fin.logodds, member=member,
        victims=choose_victims(len(fin.model_ids), n_victims, seed), labels=labels,
        logodds_pre=None if pre is None else pre.logodds,
    )


def restrict(inputs: AttackInputs, n_shadows: int, n_views: int, seed: int) -> AttackInputs:
    """Fewer shadow models (a seeded subset per victim) and/or only the first query views."""
    changes: dict = {}
    if n_views:
        a = inputs.probs.shape[2]
        if n_views > a:
            raise ValueError(f"attack.n_views: got {n_views}; allowed: ≤ query.n_views ({a})")
        changes |= {"probs": inputs.probs[:, :, :n_views],
                    "logodds": inputs.logodds[:, :, :n_views]}
        if inputs.logodds_pre is not None:
            changes["logodds_pre"] = inputs.logodds_pre[:, :, :n_views]
    if n_shadows:
        m = inputs.member.shape[0]
        if n_shadows > m - 1:
            raise ValueError(f"attack.n_shadows: got {n_shadows}; allowed: ≤ {m - 1}")
        g = rng(seed, "shadow-subset")
        mask = np.zeros((len(inputs.victims), m), bool)
        for i, v in enumerate(inputs.victims):
            others = np.delete(np.arange(m), v)
            mask[i, g.choice(others, n_shadows, replace=False)] = True
        changes["shadows"] = mask
    return replace(inputs, **changes)


Attack = Callable[[AttackInputs, AttackParams, int], np.ndarray]

ATTACKS: dict[str, Attack] = {
    "tmi": lambda x, p, seed: tmi_scores(
        scaled_logodds(x.logodds), x.member, x.shadow_mask(), x.victims, p.tmi,
        torch_generator(seed, "tmi"),
    ),
    "lira": lambda x, p, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.shadow_mask(), x.victims, p.lira.covariance,
        p.lira.ridge,
    ),
    # the same likelihood ratio with per-view variances only: far fewer parameters to fit
    # from M/2 shadows than the reference's full A×A covariance
    "lira_diag": lambda x, p, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.shadow_mask(), x.victims, "diag", p.lira.ridge
    ),
    "threshold": lambda x, p, seed: confidence_threshold(x.probs, x.victims),
    "whitebox_lira": lambda x, p, seed: whitebox_lira(
        _require(x.logodds_pre), x.labels, x.member, x.shadow_mask(), x.victims,
        p.lira.covariance, p.lira.ridge,
    ),
}


def _require(a: np.ndarray | None) -> np.ndarray:
    if a is None:
        raise ValueError("whitebox_lira needs the pretrained models' signals")
    return a


def run_attack(name: str, inputs: AttackInputs, p: AttackParams, seed: int) -> np.ndarray:
    """Scores [V, T] of the named attack."""
    return ATTACKS[name](inputs, p, seed)
