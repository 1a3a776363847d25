"""What every attack reads: :class:`AttackInputs` (signals, membership, victims, shadows) built
from the stage's tables, restricted to fewer shadows or views, and relabelled for the null
control."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leakaudit.core.membership import balanced_mask, partner
from leakaudit.core.seeds import rng
from leakaudit.tmi.data.splits import null_labels
from leakaudit.tmi.data.splits import victims as choose_victims
from leakaudit.tmi.signals import SignalArrays, take_points

if TYPE_CHECKING:
    from leakaudit.tmi.params import AttackParams


@dataclass(frozen=True)
class AttackInputs:
    """Everything an attack may read. Arrays are indexed [model, point, view, class].

    Models come in complementary pairs (2j, 2j + 1;
    :func:`leakaudit.core.membership.balanced_mask`).
    A victim's shadows are every model except the victim *and its partner*: with paired masks
    the partner's membership is the complement of the victim's, so leaving only the victim out
    would give members one IN shadow fewer than non-members — a label channel."""

    probs: np.ndarray
    logodds: np.ndarray
    member: np.ndarray  # [M, T] the labels attacks learn from and are scored against
    victims: np.ndarray  # victim model indices (whole pairs)
    labels: np.ndarray  # [T] true upstream labels
    logodds_pre: np.ndarray | None = None  # pretrained models' signals (white box)
    shadows: np.ndarray | None = None  # [V, T, M] bool: shadows per victim and point (None: all)
    probs_pre: np.ndarray | None = None  # pretrained models' probabilities (white box)
    # RMIA's population points z (no audited model trained on them): [M, Z, A, K], labels [Z]
    pop_probs: np.ndarray | None = None
    pop_probs_pre: np.ndarray | None = None
    pop_labels: np.ndarray | None = None

    def population(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(probs, pretrained probs, labels) of the population points; an error if the
        signals hold none (``query.n_population``)."""
        if self.pop_probs is None or self.pop_labels is None or not len(self.pop_labels):
            raise ValueError("RMIA needs population points: the query stage's signals hold "
                             "none (query.n_population)")
        return self.pop_probs, self.pop_probs_pre, self.pop_labels

    def shadow_mask(self) -> np.ndarray:
        """[V, T, M]: the models each victim's attack may use as shadows for each point (never
        the victim or its partner)."""
        v, (m, t) = len(self.victims), self.member.shape
        if self.shadows is not None:
            return self.shadows
        mask = np.ones((v, m), bool)
        rows = np.arange(v)
        mask[rows, self.victims] = False
        mask[rows, partner(self.victims)] = False
        return np.broadcast_to(mask[:, None, :], (v, t, m))


def build_inputs(
    fin: SignalArrays, members: pd.DataFrame, points: pd.DataFrame, n_victims: int, seed: int,
    pre: SignalArrays | None = None, population: np.ndarray | None = None,
) -> AttackInputs:
    """Attack inputs from the signals arrays (challenge points, and the ``population`` point
    ids among them when given), the membership table (``trained``) and the points table (true
    upstream labels); victims are a seeded choice of complementary pairs."""
    label = points.set_index("point_id").label
    pop = np.asarray(population if population is not None else [], dtype=np.int64)
    challenge = np.setdiff1d(fin.point_ids, pop)
    x, z = take_points(fin, challenge), take_points(fin, pop)
    member = (members.pivot(index="model_id", columns="point_id", values="trained")
              .loc[x.model_ids, x.point_ids].to_numpy(bool))
    xp = None if pre is None else take_points(pre, challenge)
    zp = None if pre is None else take_points(pre, pop)
    return AttackInputs(
        probs=x.probs, logodds=x.logodds, member=member,
        victims=choose_victims(len(x.model_ids), n_victims, seed),
        labels=label.loc[x.point_ids].to_numpy(),
        logodds_pre=None if xp is None else xp.logodds,
        probs_pre=None if xp is None else xp.probs,
        pop_probs=z.probs, pop_probs_pre=None if zp is None else zp.probs,
        pop_labels=label.loc[z.point_ids].to_numpy(),
    )


def stratified_shadows(inputs: AttackInputs, n_shadows: int, seed: int) -> np.ndarray:
    """[V, T, M]: for every victim pair and point, ``n_shadows / 2`` IN and as many OUT shadows
    (a seeded choice among the allowed ones, shared by the two victims of a pair)."""
    base = inputs.shadow_mask()
    half = n_shadows // 2
    v, t, m = base.shape
    out = np.zeros((v, t, m), bool)
    member_t = inputs.member.T  # [T, M]
    for vi, victim in enumerate(inputs.victims):
        keys = rng(seed, "shadow-subset", int(victim) // 2).random((t, m))
        for cls in (True, False):
            allowed = base[vi] & (member_t == cls)
            short = np.nonzero(allowed.sum(1) < half)[0]
            if len(short):
                raise ValueError(
                    f"attack.n_shadows: got {n_shadows}; point {short[0]} has only "
                    f"{allowed[short[0]].sum()} {'IN' if cls else 'OUT'} shadows for victim "
                    f"{victim} (each point needs n_shadows / 2 = {half} of each)")
            chosen = np.argsort(np.where(allowed, keys, np.inf), axis=1)[:, :half]
            np.put_along_axis(out[vi], chosen, True, axis=1)
    return out


def restrict(inputs: AttackInputs, n_shadows: int, n_views: int, seed: int) -> AttackInputs:
    """Fewer shadow models (per point, stratified: as many IN as OUT) and/or only the first
    query views."""
    changes: dict = {}
    if n_views:
        a = inputs.probs.shape[2]
        if n_views > a:
            raise ValueError(f"attack.n_views: got {n_views}; allowed: ≤ query.n_views ({a})")
        for name in ("probs", "logodds", "logodds_pre", "probs_pre", "pop_probs",
                     "pop_probs_pre"):
            if getattr(inputs, name) is not None:
                changes[name] = getattr(inputs, name)[:, :, :n_views]
    if n_shadows:
        m = inputs.member.shape[0]
        if n_shadows % 2 or not 4 <= n_shadows <= m - 2:
            raise ValueError(f"attack.n_shadows: got {n_shadows}; allowed: 0 (all) or an even "
                             f"number from 4 to prepare.n_models − 2 ({m - 2})")
        changes["shadows"] = stratified_shadows(inputs, n_shadows, seed)
    return replace(inputs, **changes)


def label_sets(inputs: AttackInputs, p: AttackParams, seed: int
               ) -> Iterator[tuple[str, AttackInputs]]:
    """('membership', inputs), ('null-k', inputs relabelled with the k-th independent random
    labelling) for k < ``p.null_draws`` and ('structured-k', relabelled with the k-th fresh
    balanced mask) for k < ``p.structured_draws``, each restricted to ``p.n_shadows`` /
    ``p.n_views`` (stratified shadow subsets follow the labels in use)."""
    m, t = inputs.member.shape
    yield "membership", restrict(inputs, p.n_shadows, p.n_views, seed)
    for k in range(p.null_draws):
        null = replace(inputs, member=null_labels(m, t, seed, k))
        yield f"null-{k}", restrict(null, p.n_shadows, p.n_views, seed)
    for k in range(p.structured_draws):
        fresh = balanced_mask(t, m, seed, f"structured-null-{k}").T  # pairs complementary
        yield f"structured-{k}", restrict(replace(inputs, member=fresh), p.n_shadows,
                                          p.n_views, seed)
