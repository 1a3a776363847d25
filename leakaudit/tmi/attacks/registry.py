"""The attacks, each declared once: name → :class:`Attack`, a pure function of
:class:`~leakaudit.tmi.attack_inputs.AttackInputs`, the attack's own settings section and a seed.

Everything that lists attacks derives from :data:`ATTACKS`: the allowed ``attack.attacks``
values and the settings sections of ``attack`` (:func:`settings_fields`), the paired reference of
the evaluation, the ROC plot's columns in ``dvc.yaml`` and the benches. Adding an attack is one
module (its function and, if it has settings, their section) and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from leakaudit.core.params import Section
from leakaudit.core.seeds import torch_generator
from leakaudit.tmi.attacks.features import scaled_logodds
from leakaudit.tmi.attacks.lira import LiraParams, adapted_lira, whitebox_lira
from leakaudit.tmi.attacks.rmia import (
    RmiaParams,
    consensus_probs,
    label_probs,
    membership_class_probs,
    rmia_scores,
)
from leakaudit.tmi.attacks.threshold import confidence_threshold
from leakaudit.tmi.attacks.tmi_settings import TmiParams


@dataclass(frozen=True)
class Attack:
    """One attack. ``run(inputs, settings, seed)`` returns scores [V, T] (higher = member) from
    :class:`~leakaudit.tmi.attack_inputs.AttackInputs`;
    ``settings`` is the section ``attack.<settings_key>`` it reads (shared by variants)."""

    name: str
    run: Callable[[Any, Any, int], np.ndarray]
    settings: type[Section] | None = None
    settings_key: str = ""
    white_box: bool = False  # reads the pretrained models' signals: a bound, not the threat
    reference: bool = False  # the audit's own attack: every other one is compared with it
    population: bool = False  # reads the population points (query.n_population)
    accelerated: bool = False  # ``run`` also takes ``device=`` (trains on a GPU when present)


def _tmi(x: Any, s: TmiParams, seed: int, device: Any = "cpu") -> np.ndarray:
    """TMI's metaclassifiers (their torch trainer loads only when the attack runs)."""
    from leakaudit.tmi.attacks.tmi import tmi_scores

    return tmi_scores(scaled_logodds(x.logodds), x.member, x.shadow_mask(), x.victims, s,
                      torch_generator(seed, "tmi"), device)


def _pretrained(x: Any) -> np.ndarray:
    if x.logodds_pre is None:
        raise ValueError("whitebox_lira needs the pretrained models' signals")
    return x.logodds_pre


def _rmia(x: Any, s: RmiaParams, online: bool) -> np.ndarray:
    """Black-box RMIA on the finetuned models, read at each point's membership class."""
    z, _, _ = x.population()
    shadows = x.shadow_mask()
    return rmia_scores(membership_class_probs(x.probs, x.member, shadows),
                       consensus_probs(z, shadows.any(1)), x.member, shadows, x.victims, s,
                       online)


def _whitebox_rmia(x: Any, s: RmiaParams) -> np.ndarray:
    """RMIA on the pretrained models at the true upstream label (an upper reference)."""
    _, z_pre, z_labels = x.population()
    if x.probs_pre is None or z_pre is None:
        raise ValueError("whitebox_rmia needs the pretrained models' signals")
    v = len(x.victims)
    xs, zs = label_probs(x.probs_pre, x.labels), label_probs(z_pre, z_labels)
    return rmia_scores(np.broadcast_to(xs, (v, *xs.shape)), np.broadcast_to(zs, (v, *zs.shape)),
                       x.member, x.shadow_mask(), x.victims, s, online=True)


ATTACKS: dict[str, Attack] = {a.name: a for a in (
    Attack("tmi", _tmi, TmiParams, "tmi", reference=True, accelerated=True),
    Attack("lira", lambda x, s, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.shadow_mask(), x.victims, s.covariance, s.ridge),
        LiraParams, "lira"),
    # the same likelihood ratio with per-view variances only: far fewer parameters to fit
    # from M/2 shadows than the reference's full A×A covariance
    Attack("lira_diag", lambda x, s, seed: adapted_lira(
        x.probs, x.logodds, x.member, x.shadow_mask(), x.victims, "diag", s.ridge),
        LiraParams, "lira"),
    Attack("threshold", lambda x, s, seed: confidence_threshold(x.probs, x.victims)),
    Attack("whitebox_lira", lambda x, s, seed: whitebox_lira(
        _pretrained(x), x.labels, x.member, x.shadow_mask(), x.victims, s.covariance,
        s.ridge), LiraParams, "lira", white_box=True),
    Attack("rmia", lambda x, s, seed: _rmia(x, s, online=True), RmiaParams, "rmia",
           population=True),
    Attack("rmia_offline", lambda x, s, seed: _rmia(x, s, online=False), RmiaParams, "rmia",
           population=True),
    Attack("whitebox_rmia", lambda x, s, seed: _whitebox_rmia(x, s), RmiaParams, "rmia",
           white_box=True, population=True),
)}

AttackName = Literal[tuple(ATTACKS)]  # type: ignore[valid-type]
REFERENCE = next(a.name for a in ATTACKS.values() if a.reference)


def settings_fields() -> dict[str, tuple[type[Section], Section]]:
    """The ``attack`` section's settings fields (one per distinct settings key, in registry
    order), for :func:`pydantic.create_model`."""
    return {a.settings_key: (a.settings, a.settings()) for a in ATTACKS.values() if a.settings}


def run_attack(name: str, inputs: Any, p: Any, seed: int, device: Any = None) -> np.ndarray:
    """Scores [V, T] of the named attack under the ``attack`` section ``p``; an accelerated
    attack trains on ``device`` (the stage's torch device) when one is given."""
    a = ATTACKS[name]
    settings = getattr(p, a.settings_key) if a.settings else None
    if a.accelerated and device is not None:
        return a.run(inputs, settings, seed, device=device)
    return a.run(inputs, settings, seed)
