"""What every backdoor audit draws the same way: the attacker's targets among the candidates
(stage ``targets``) and the victims' membership masks (stage ``membership``: balanced, or
independent Bernoulli(½) for the one-run DP audit)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leakaudit.core.seeds import rng


def choose_targets(n_candidates: int, n_targets: int, seed: int) -> np.ndarray:
    """Bool mask over candidates: the attacker's targets (seeded, exactly ``n_targets``)."""
    mask = np.zeros(n_candidates, dtype=bool)
    mask[rng(seed, "targets").choice(n_candidates, size=n_targets, replace=False)] = True
    return mask


def membership_table(candidate_ids: np.ndarray, n_victims: int, seed: int,
                     design: str = "balanced") -> pd.DataFrame:
    """The `bd_membership` table. ``balanced``: each candidate a member of exactly half the
    victims (complementary pairs, :func:`leakaudit.core.membership.balanced_mask`);
    ``bernoulli``: every (candidate, victim) a member independently with probability ½."""
    from leakaudit.core.membership import balanced_mask

    if design == "bernoulli":
        mask = rng(seed, "bd-membership-bernoulli").random((len(candidate_ids), n_victims)) < 0.5
    else:
        mask = balanced_mask(len(candidate_ids), n_victims, seed, "bd-membership")
    return pd.DataFrame({
        "victim_id": np.tile(np.arange(n_victims, dtype=np.int64), len(candidate_ids)),
        "candidate_id": np.repeat(np.asarray(candidate_ids, dtype=np.int64), n_victims),
        "member": mask.reshape(-1),
        "design": design,
    })


def targets_tables(pool: pd.DataFrame, p: Any) -> dict[str, pd.DataFrame]:
    """The targets stage's tables by name: the ``candidates`` (the ``pool`` with its
    ``target`` column). ``p``: the audit's params (base, targets)."""
    return {"candidates": pool.assign(
        target=choose_targets(len(pool), p.targets.n_targets, p.base.seed))}
