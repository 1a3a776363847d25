"""The backdoor audits' evaluation (leakaudit.backdoor.analysis / evaluation) on synthetic
score tables whose leakage is known: paired arms, swapped arms, a dead poison, best-vs-best
picks made on the other half, the calibrated join, target specificity, evidence counts."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from leakaudit.backdoor.analysis import backdoor_grid, select_best
from leakaudit.backdoor.arms import RELEASED
from leakaudit.backdoor.evaluation import evaluation_tables, summary_json
from leakaudit.backdoor.targets import membership_table

P = SimpleNamespace(evaluate=SimpleNamespace(fpr_targets=[0.01, 0.1], bootstrap=300,
                                             confidence=0.95),
                   victims=SimpleNamespace(membership="balanced"))


def synth(signal: dict[str, float], n_cand=200, n_targets=100, n_victims=8, seed=0,
          non_target_signal: float = 0.0, same_noise: bool = False):
    """(candidates, membership, scores): a member's scores rise by signal[arm] on targets
    (``non_target_signal`` on the others); ``same_noise`` gives both arms identical noise."""
    g = np.random.default_rng(seed)
    cands = pd.DataFrame({"candidate_id": np.arange(n_cand, dtype=np.int64),
                          "target": np.arange(n_cand) < n_targets})
    mem = membership_table(cands.candidate_id.to_numpy(), n_victims, seed)
    lift = np.where(cands.target, 1.0, non_target_signal)
    noise = {v: {n: g.normal(size=n_cand) for n in ("neg_loss", "top5")}
             for v in [RELEASED, *range(n_victims)]}
    rows = []
    for arm in ("clean", "poisoned"):
        for v in [RELEASED, *range(n_victims)]:
            m = mem[mem.victim_id == v].member.to_numpy() if v >= 0 else np.zeros(n_cand, bool)
            df = pd.DataFrame({"arm": arm, "victim_id": v, "candidate_id": cands.candidate_id})
            for n in ("neg_loss", "top5"):
                z = noise[v][n] if same_noise else g.normal(size=n_cand)
                df[n] = z + m * lift * signal[arm]
            rows.append(df)
    return cands, mem, pd.concat(rows, ignore_index=True)


def run(cands, mem, scores, seed=0):
    table, picks = evaluation_tables({seed: {"candidates": cands, "members": mem,
                                             "scores": scores, "stealth": {"x": 1.0}}},
                                     ("neg_loss", "top5"), P)
    return table[table.replicate == -1].set_index(["candidates", "attack", "metric"]), picks


def test_amplification_is_found_and_flips_with_swapped_arms():
    top, _ = run(*synth({"clean": 0.3, "poisoned": 1.5}))
    amp = top.loc[("targets", "amplification:best", "tpr_at_10pct_fpr_ratio")]
    assert amp.low > 1.5
    assert top.loc[("targets", "amplification:best", "auc_diff")].low > 0.1
    top, _ = run(*synth({"clean": 1.5, "poisoned": 0.3}))
    assert top.loc[("targets", "amplification:best", "tpr_at_10pct_fpr_ratio")].high < 0.67


def test_a_dead_poison_shows_no_amplification_with_a_paired_interval():
    """Identical arms: every paired resample gives ratio 1 and difference 0 exactly (arms
    bootstrapped separately would give a wide interval around 1)."""
    cands, mem, scores = synth({"clean": 1.0, "poisoned": 1.0}, same_noise=True)
    top, _ = run(cands, mem, scores)
    for name in ("best", "neg_loss", "calibrated"):
        r = top.loc[("targets", f"amplification:{name}", "tpr_at_10pct_fpr_ratio")]
        assert (r.value, r.low, r.high) == (1.0, 1.0, 1.0)
        d = top.loc[("targets", f"amplification:{name}", "auc_diff")]
        assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)


def test_specificity_separates_targets_from_non_targets():
    top, _ = run(*synth({"clean": 0.0, "poisoned": 1.5}, non_target_signal=0.0))
    assert top.loc[("targets", "specificity:neg_loss", "auc_diff")].low > 0.1
    top, _ = run(*synth({"clean": 0.0, "poisoned": 1.5}, non_target_signal=1.0))
    r = top.loc[("targets", "specificity:neg_loss", "auc_diff")]
    assert r.low < 0 < r.high


def test_best_is_picked_on_the_other_half():
    """A score that leaks strongly only on half 0 is picked for half 1 (chosen on half 0);
    half 0 gets the score that leaks on half 1 (−loss, or the calibrated −loss)."""
    cands, mem, scores = synth({"clean": 0.0, "poisoned": 0.0})
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target,
                         ("neg_loss", "top5"), 0)
    half0 = grid.candidate_ids[grid.half == 0]
    v = scores.victim_id >= 0
    lifted = scores.merge(mem, on=["victim_id", "candidate_id"], how="left")
    boost = (v & lifted.member.fillna(False).astype(bool) & scores.candidate_id.isin(half0)
             & (scores.arm == "poisoned")).to_numpy()
    member = (v & lifted.member.fillna(False).astype(bool) & (scores.arm == "poisoned")
              & scores.candidate_id.isin(grid.candidate_ids[grid.target])).to_numpy()
    scores = scores.assign(top5=scores.top5 + 3.0 * boost, neg_loss=scores.neg_loss + member)
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target,
                         ("neg_loss", "top5"), 0)
    pick = select_best(grid, "poisoned", ("neg_loss", "top5"), 0.1)
    assert pick[1] == "top5" and pick[0] in ("neg_loss", "calibrated")


def test_calibrated_subtracts_the_arms_released_score():
    cands, mem, scores = synth({"clean": 0.0, "poisoned": 0.0})
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target,
                         ("neg_loss", "top5"), 0)
    s = scores.set_index(["arm", "victim_id", "candidate_id"]).neg_loss
    for arm in ("clean", "poisoned"):
        assert grid.scores[f"{arm}:calibrated"][3, 7] == pytest.approx(
            s[(arm, 3, 7)] - s[(arm, RELEASED, 7)])


def test_low_fpr_points_carry_their_negatives_and_are_flagged():
    top, _ = run(*synth({"clean": 0.3, "poisoned": 1.5}))
    # 8 victims × 100 targets, half of them non-members: 400 negatives
    r = top.loc[("targets", "poisoned:neg_loss", "tpr_at_1pct_fpr")]
    assert r.negatives == 4 and not r.reliable
    assert top.loc[("targets", "poisoned:neg_loss", "tpr_at_10pct_fpr")].negatives == 40
    best = top.loc[("targets", "poisoned:best", "tpr_at_10pct_fpr")]
    assert best.negatives == 20  # two halves of 200 negatives, 20 each: per ROC, the thinner
    m = summary_json(top.reset_index().assign(replicate=-1))
    assert list(m)[:4] == ["verdict", "amplification:best", "clean:best", "poisoned:best"]
    assert "tpr_at_1pct_fpr_unreliable" in m["poisoned:neg_loss"]
    assert "tpr_at_1pct_fpr" not in m["poisoned:neg_loss"]


def test_replicates_combine_and_keep_each_seed():
    runs = {}
    for seed in (1, 2):
        c, m, s = synth({"clean": 0.3, "poisoned": 1.5}, seed=seed)
        runs[seed] = {"candidates": c, "members": m, "scores": s, "stealth": {"x": seed}}
    table, picks = evaluation_tables(runs, ("neg_loss", "top5"), P)
    assert set(picks) == {1, 2}
    auc = table[(table.attack == "poisoned:neg_loss") & (table.metric == "auc")
                & (table.candidates == "targets")].set_index("replicate").value
    assert auc[-1] == pytest.approx((auc[1] + auc[2]) / 2)
    x = table[table.metric == "x"].set_index("replicate")
    assert (x.loc[-1, "value"], x.loc[-1, "low"], x.loc[-1, "high"]) == (1.5, 1.0, 2.0)


@pytest.mark.parametrize("clean_arm", ["base", "aux_only", "decoy"])
def test_release_trains_each_kind_once_and_compares_with_every_control(clean_arm):
    from leakaudit.backdoor.arms import release_checkpoints, schedule

    poison = SimpleNamespace(clean_arm=clean_arm, stealth_controls=["base", "aux_only"],
                             steps=10, alpha=0.5)
    trained, saved = [], {}
    loss = {"base": 2.0, "aux_only": 1.6, "decoy": 1.7, "poisoned": 1.8}

    def train(kind):
        trained.append((kind, schedule(kind, poison)))
        return kind, {"heldout_loss": loss[kind], "heldout_accuracy": 1 - loss[kind] / 10}

    m = release_checkpoints(poison, train, lambda model, arm: saved.update({arm: model}),
                            ("heldout_loss", "heldout_accuracy"))
    kinds = [k for k, _ in trained]
    assert sorted(kinds) == sorted(set(kinds)) and set(kinds) >= {"base", "aux_only"}
    assert saved == {"clean": clean_arm, "poisoned": "poisoned"}
    assert dict(trained)["poisoned"] == (10, 0.5, "targets")
    assert dict(trained)["aux_only"] == (10, 0.0, "none")
    if clean_arm == "decoy":
        assert dict(trained)["decoy"] == (10, 0.5, "decoys")  # same run, other data
    assert m["stealth.vs_clean.heldout_loss_increase"] == pytest.approx(1.8 / loss[clean_arm] - 1)
    assert m["stealth.vs_aux_only.heldout_loss_increase"] == pytest.approx(1.8 / 1.6 - 1)
    assert m["stealth.vs_base.heldout_accuracy_drop"] == pytest.approx(0.80 - 0.82)
    assert m["clean.heldout_loss"] == loss[clean_arm]


def test_grid_joins_by_id_not_by_position():
    """Shuffled rows and non-contiguous candidate ids give the same grid: scores, membership
    and the calibrated score are joined by (arm, victim, candidate)."""
    cands, mem, scores = synth({"clean": 0.5, "poisoned": 1.0})
    names = ("neg_loss", "top5")
    a = backdoor_grid(scores, mem, cands.set_index("candidate_id").target, names, 0)
    remap = dict(zip(cands.candidate_id, np.random.default_rng(3).permutation(
        np.arange(len(cands)) * 7 + 5), strict=True))
    c2 = cands.assign(candidate_id=cands.candidate_id.map(remap))
    m2 = mem.assign(candidate_id=mem.candidate_id.map(remap)).sample(frac=1, random_state=1)
    s2 = scores.assign(candidate_id=scores.candidate_id.map(remap)).sample(frac=1,
                                                                           random_state=2)
    b = backdoor_grid(s2, m2, c2.set_index("candidate_id").target, names, 0)
    order = np.argsort([remap[c] for c in a.candidate_ids])  # b's columns in a's order
    inverse = np.argsort(order)
    for key in a.scores:
        assert np.array_equal(a.scores[key], b.scores[key][:, inverse])
    assert np.array_equal(a.member, b.member[:, inverse])
    assert np.array_equal(a.target, b.target[inverse])


def test_best_reports_each_half_with_the_pick_made_on_the_other():
    """The best metric is the mean over the halves of the pick *for that half* evaluated on
    that half (a pick made and reported on the same half would leak)."""
    from leakaudit.backdoor.analysis import resample_replicates
    from leakaudit.core.statistics import weighted_metrics

    cands, mem, scores = synth({"clean": 0.4, "poisoned": 1.2})
    names = ("neg_loss", "top5")
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target, names, 0)
    res, picks = resample_replicates([grid], [0], names, [0.1], 50)
    for arm in ("clean", "poisoned"):
        halves = []
        for h, name in enumerate(picks[0][arm]):
            assert name == select_best(grid, arm, (*names, "calibrated"), 0.1)[h]
            cols = grid.half == h
            y = grid.member[:, cols].reshape(-1)
            pts = np.broadcast_to(grid.candidate_ids[cols], (len(y) // cols.sum(), cols.sum()))
            halves.append(weighted_metrics(grid.scores[f"{arm}:{name}"][:, cols].reshape(-1),
                                           y, np.ones((1, len(y))), [0.1],
                                           pts.reshape(-1))["auc"][0])
        assert res.estimate[(f"targets/{arm}:best", "auc")][0] == pytest.approx(np.mean(halves))


def test_bootstrap_resamples_victim_pairs_and_candidates_within_groups():
    from leakaudit.backdoor.analysis import grid_weights

    cands, mem, scores = synth({"clean": 0.0, "poisoned": 0.0}, n_cand=60, n_targets=20)
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target,
                         ("neg_loss", "top5"), 0)
    w = grid_weights(grid, 200, np.random.default_rng(0))
    assert np.array_equal(w[:, 0::2], w[:, 1::2])  # a pair's two victims move together
    per_victim = w[:, :, grid.target].sum(2) / w[:, :, grid.target].sum((1, 2))[:, None]
    assert per_victim.std() > 0  # victims are resampled
    nz = w[:, 0, :].sum(1) > 0
    ratio = w[nz, 0, :][:, grid.target].sum(1) / w[nz, 0, :][:, ~grid.target].sum(1)
    assert np.allclose(ratio, grid.target.sum() / (~grid.target).sum())  # group totals fixed


def test_bad_tables_fail_with_a_clear_error():
    cands, mem, scores = synth({"clean": 0.0, "poisoned": 0.0})
    names = ("neg_loss", "top5")
    released = (scores.victim_id == RELEASED) & (scores.candidate_id == 3)
    with pytest.raises(ValueError, match="released checkpoint's neg_loss"):
        backdoor_grid(scores[~released], mem, cands.set_index("candidate_id").target, names, 0)
    with pytest.raises(ValueError, match="the pool lacks"):
        backdoor_grid(scores, mem, cands.set_index("candidate_id").target.drop(5), names, 0)
    with pytest.raises(ValueError, match="every victim needs a row"):
        backdoor_grid(scores, mem.iloc[1:], cands.set_index("candidate_id").target, names, 0)


def test_each_resample_reruns_the_pick_on_its_own_other_half():
    """Selection is inside the bootstrap: a resample that keeps only the half-0 candidates on
    which ``top5`` leaks makes half 1 use ``top5``; one that keeps those on which −loss leaks
    makes it use −loss (a pick fixed outside the bootstrap would not move)."""
    from leakaudit.backdoor.analysis import _best_cell, _cell, _resampled_picks

    cands, mem, scores = synth({"clean": 0.0, "poisoned": 0.0})
    names = ("neg_loss", "top5")
    grid = backdoor_grid(scores, mem, cands.set_index("candidate_id").target, names, 0)
    half0 = np.flatnonzero(grid.half == 0)
    a, b = half0[: len(half0) // 2], half0[len(half0) // 2:]
    s = {k: v.copy() for k, v in grid.scores.items()}
    s["poisoned:top5"][:, a] += 3.0 * grid.member[:, a]
    s["poisoned:neg_loss"][:, b] += 3.0 * grid.member[:, b]
    s["poisoned:calibrated"][:, b] += 3.0 * grid.member[:, b]
    grid = grid.__class__(s, grid.member, grid.victim_cluster, grid.target, grid.half,
                          grid.candidate_ids)
    w = np.ones((2, *grid.member.shape), np.float32)
    w[0][:, b], w[1][:, a] = 0, 0  # resample 0 keeps a (top5 leaks), resample 1 keeps b
    all_names = (*names, "calibrated")
    best = _best_cell(grid, w, "poisoned", all_names, ("neg_loss", "neg_loss"), [0.1])
    cells = [{n: _cell(grid, w, f"poisoned:{n}", grid.half == h, [0.1]) for n in all_names}
             for h in (0, 1)]
    h1 = {n: c.draws["auc"] for n, c in cells[1].items()}
    # half 0 (no planted signal) takes whatever its other half's resample picks
    h0 = np.stack([cells[0][n].draws["auc"] for n in all_names])[
        _resampled_picks(cells[1], all_names, 0.1), [0, 1]]
    assert h1["top5"][0] != h1["neg_loss"][0]
    assert best.draws["auc"][0] == pytest.approx((h0[0] + h1["top5"][0]) / 2)
    assert best.draws["auc"][1] == pytest.approx((h0[1] + h1["neg_loss"][1]) / 2)
