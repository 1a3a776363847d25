"""Attacks on synthetic signals where the answer is known."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from leakaudit.core.membership import balanced_mask
from leakaudit.core.metrics import auc, roc
from leakaudit.core.seeds import rng
from leakaudit.tmi.attack_inputs import AttackInputs, label_sets, restrict
from leakaudit.tmi.attacks.lira import LiraParams, gaussian_lr
from leakaudit.tmi.attacks.registry import run_attack
from leakaudit.tmi.attacks.tmi import TmiParams, tmi_scores
from leakaudit.tmi.params import AttackParams
from leakaudit.tmi.signals import restrict_top_k

M, T, A, K = 16, 40, 4, 3


def synthetic(shift: float, seed: int = 0, confident: bool = False):
    """Signals whose per-point class-0 log-odds move by ``shift`` when the point is IN (with
    ``confident``: each point's top class, so members are predicted more confidently)."""
    g = rng(seed, "synthetic")
    member = balanced_mask(T, M, seed, "synthetic-mask").T  # [M, T]
    base = g.normal(0, 1, (1, T, 1, K))
    logodds = base + 0.3 * g.normal(size=(M, T, A, K))
    top = base[0, :, 0].argmax(-1) if confident else np.zeros(T, np.int64)
    logodds[:, np.arange(T), :, top] += shift * member[:, :, None].transpose(1, 0, 2)
    probs = np.exp(logodds) / np.exp(logodds).sum(-1, keepdims=True)
    victims = np.arange(4)  # two complementary pairs
    # population points: no model trained on them (RMIA's z)
    z = g.normal(0, 1, (1, 30, 1, K)) + 0.3 * g.normal(size=(M, 30, A, K))
    zp = (np.exp(z) / np.exp(z).sum(-1, keepdims=True)).astype(np.float32)
    return AttackInputs(probs.astype(np.float32), logodds.astype(np.float32), member, victims,
                        labels=top, logodds_pre=logodds.astype(np.float32),
                        probs_pre=probs.astype(np.float32), pop_probs=zp, pop_probs_pre=zp,
                        pop_labels=np.zeros(30, np.int64))


def _auc(scores, inputs):
    fpr, tpr = roc(scores.reshape(-1), inputs.member[inputs.victims].reshape(-1))
    return auc(fpr, tpr)


def test_tmi_detects_a_membership_shift():
    x = synthetic(shift=1.0)
    p = AttackParams(tmi=TmiParams(epochs=40, batch_size=16))
    assert _auc(run_attack("tmi", x, p, 0), x) > 0.9


def test_every_attack_is_at_chance_without_signal():
    x = synthetic(shift=0.0)
    for name in ("tmi", "lira", "lira_diag", "whitebox_lira", "threshold", "rmia",
                 "rmia_offline", "whitebox_rmia"):
        assert 0.3 < _auc(run_attack(name, x, AttackParams(tmi=TmiParams(epochs=5)), 0), x) < 0.7


def test_lira_attacks_detect_shift():
    x = synthetic(shift=1.0)
    diag = AttackParams(lira=LiraParams(covariance="diag"))
    # full covariance from 7 shadows in 4 dimensions overfits: the diagonal model is stronger
    assert _auc(run_attack("lira", x, AttackParams(), 0), x) > 0.7
    assert _auc(run_attack("lira", x, diag, 0), x) > 0.8
    for p in (AttackParams(), diag):
        assert _auc(run_attack("whitebox_lira", x, p, 0), x) > 0.95


def test_tmi_scores_are_probabilities_and_seeded():
    x = synthetic(shift=0.5)
    p = TmiParams(epochs=3, chunk=7)
    a = tmi_scores(x.logodds, x.member, x.shadow_mask(), x.victims, p,
                   torch.Generator().manual_seed(1))
    b = tmi_scores(x.logodds, x.member, x.shadow_mask(), x.victims, p,
                   torch.Generator().manual_seed(1))
    assert a.shape == (4, T) and ((a >= 0) & (a <= 1)).all() and np.array_equal(a, b)


def test_fused_metaclassifier_gradients_match_each_set_trained_alone():
    """The hand-written backward pass of the fused sets, dropout included, equals autograd of
    each set's own reference loss (mean over its rows of class-weighted two-class
    cross-entropy through ReLU and inverted dropout with the same mask)."""
    from leakaudit.tmi.attacks.tmi import Fused, _gate, backprop, class_weights

    g = torch.Generator().manual_seed(0)
    t, n, c, k, h = 3, 10, 4, 2, 5
    x, y = torch.randn(t, n, c, generator=g), torch.randint(0, 2, (t, n), generator=g)
    rows = (torch.rand(t, k, n, generator=g) > 0.3).float()
    w = class_weights(y.float(), rows)
    net = Fused(torch.randn(t, c, k * h), torch.randn(t, 1, k * h), torch.randn(t, k, h, 2),
                torch.randn(t, k, 2))
    for q in net.params:
        q.grad = torch.zeros_like(q)
    same = torch.Generator()
    same.set_state(g.get_state())
    backprop(net, x, 1.0 - 2.0 * y.float(), w, rows, 0.5, g)
    gate = _gate(torch.baddbmm(net.b1, x, net.w1), 0.5, same) * 2.0  # the same draws
    assert 0 < gate.mean() < 1  # some units dropped, some kept
    ref = [q.detach().clone().requires_grad_() for q in net.params]
    loss = 0
    for ti in range(t):
        for ki in range(k):
            cols = slice(ki * h, (ki + 1) * h)
            hid = torch.relu(x[ti] @ ref[0][ti][:, cols] + ref[1][ti][:, cols]) * gate[ti][:, cols]
            ce = torch.nn.functional.cross_entropy(hid @ ref[2][ti, ki] + ref[3][ti, ki], y[ti],
                                                   reduction="none")
            keep = rows[ti, ki].bool()
            loss = loss + (ce * w[ti, ki])[keep].mean()
    loss.backward()
    for got, want in zip(net.params, ref, strict=True):
        assert torch.allclose(got.grad, want.grad, atol=1e-5), (got.shape,)


def test_gaussian_lr_matches_scipy():
    from scipy.stats import multivariate_normal

    g = np.random.default_rng(0)
    shadows = g.normal(size=(1, 12, 2))
    sin = np.array([[True] * 6 + [False] * 6])
    obs = g.normal(size=(1, 2))
    got = gaussian_lr(obs, shadows, sin, ~sin, "full", 0.0)[0]
    lin = multivariate_normal(shadows[0, :6].mean(0), np.cov(shadows[0, :6].T)).logpdf(obs[0])
    lout = multivariate_normal(shadows[0, 6:].mean(0), np.cov(shadows[0, 6:].T)).logpdf(obs[0])
    assert np.isclose(got, lin - lout)


def test_restrict_shadows_and_views():
    x = synthetic(shift=1.0)
    r = restrict(x, n_shadows=6, n_views=2, seed=0)
    assert r.probs.shape[2] == 2 and r.logodds_pre.shape[2] == 2
    mask = r.shadow_mask()  # [V, T, M]
    ins = (mask & x.member.T[None]).sum(-1)
    assert (mask.sum(-1) == 6).all() and (ins == 3).all()  # stratified on every point
    assert not mask[np.arange(4), :, x.victims].any()
    assert not mask[np.arange(4), :, x.victims ^ 1].any()  # nor the partner
    assert np.array_equal(mask[0], mask[1])  # a pair shares its shadows
    assert not np.array_equal(mask[0, 0], mask[0, 1])  # chosen per point
    assert _auc(run_attack("lira", r, AttackParams(lira=LiraParams(covariance="diag")), 0),
                r) > 0.65
    with pytest.raises(ValueError, match="attack.n_views"):
        restrict(x, 0, 9, 0)
    for bad in (3, 2, M - 1):
        with pytest.raises(ValueError, match="attack.n_shadows"):
            restrict(x, bad, 0, 0)


def test_stratified_shadows_fail_clearly_when_a_class_is_short():
    x = synthetic(shift=0.0)
    skewed = x.member.copy()
    skewed[:, 5] = False  # point 5: no model holds it
    with pytest.raises(ValueError, match="point 5 has only 0 IN shadows"):
        restrict(replace(x, member=skewed), 4, 0, 0)


def test_members_and_non_members_see_equally_many_in_shadows():
    """Leave-pair-out: with paired masks, the victim's partner is excluded too, so the number
    of IN shadows on a point does not depend on the victim's own label."""
    x = synthetic(shift=0.0)
    ins = (x.shadow_mask() & x.member.T[None]).sum(-1)  # [V, T]
    assert (ins == (M - 2) // 2).all()


@pytest.mark.parametrize("name", ["tmi", "lira", "lira_diag", "threshold", "whitebox_lira"])
def test_no_attack_reads_the_victims_own_labels(name):
    x = synthetic(shift=1.0)
    p = AttackParams(tmi=TmiParams(epochs=3))
    before = run_attack(name, x, p, 0)
    for vi, v in enumerate(x.victims):
        flipped = x.member.copy()
        flipped[v] = ~flipped[v]
        after = run_attack(name, replace(x, member=flipped), p, 0)
        assert np.array_equal(after[vi], before[vi]), (name, v)
    # control: flipping a shadow's labels does change the scores of shadow-based attacks
    flipped = x.member.copy()
    flipped[M - 1] = ~flipped[M - 1]
    moved = not np.array_equal(run_attack(name, replace(x, member=flipped), p, 0), before)
    assert moved == (name != "threshold")


def _noise_fleet(seed: int, paired: bool, shift: float = 0.0, noise: float = 1.0, t: int = T):
    """M models × T points of noise signals around a per-point base (plus ``shift`` on class 0
    when IN) with paired balanced masks or independent per-(model, point) coins."""
    g = rng(seed, "noise-fleet")
    member = balanced_mask(t, M, seed, "noise").T if paired else g.random((M, t)) < 0.5
    logodds = g.normal(size=(1, t, 1, K)) + noise * g.normal(size=(M, t, A, K))
    logodds[..., 0] += shift * member[:, :, None]
    probs = np.exp(logodds) / np.exp(logodds).sum(-1, keepdims=True)
    return AttackInputs(probs.astype(np.float32), logodds.astype(np.float32), member,
                        victims=np.arange(M), labels=np.zeros(t, np.int64),
                        logodds_pre=logodds.astype(np.float32))


@pytest.mark.parametrize("paired", [True, False])
def test_no_signal_fleet_sits_at_chance(paired):
    """Pure noise: every attack's AUC, averaged over seeds, is 0.5 within 0.01 (a label
    channel or an attack reading labels would move it)."""
    p = AttackParams(tmi=TmiParams(epochs=2, hidden=16))
    names = ("tmi", "lira", "lira_diag", "threshold", "whitebox_lira")
    aucs = {n: [] for n in names}
    for seed in range(16):  # 16 × 16 victims × 200 points: the mean's s.e. is about 0.003
        x = _noise_fleet(seed, paired, t=200)
        for n in names:
            aucs[n].append(_auc(run_attack(n, x, p, seed), x))
    for n, values in aucs.items():
        assert abs(np.mean(values) - 0.5) < 0.01, (n, np.mean(values))


def test_null_labels_on_a_leaky_fleet_sit_at_chance_and_the_signal_is_found():
    """A fleet whose members really move (shift 1): under random null labels every attack is
    at chance (no mirror channel through the victim's partner); under the real labels the
    signal is found."""
    p = AttackParams(null_draws=3, tmi=TmiParams(epochs=8, batch_size=16, hidden=16))
    names = ("tmi", "lira", "lira_diag", "whitebox_lira")
    null = {n: [] for n in names}
    for seed in range(6):
        x = _noise_fleet(seed, paired=True, shift=1.0, noise=0.3)
        for labels, xl in label_sets(x, p, seed):
            for n in names:
                a = _auc(run_attack(n, xl, p, seed), xl)
                if labels == "membership":
                    assert a > 0.75, (n, a)
                else:
                    null[n].append(a)
    for n, values in null.items():
        assert abs(np.mean(values) - 0.5) < 0.015, (n, np.mean(values))


def test_top_k_restriction_keeps_mass_and_order():
    p = torch.softmax(torch.randn(5, 6, dtype=torch.float64), -1)
    r = restrict_top_k(p, 2)
    assert torch.allclose(r.sum(-1), torch.ones(5, dtype=torch.float64))
    top = p.topk(2, -1)
    assert torch.equal(r.gather(-1, top.indices), top.values)
    rest = r.masked_fill(torch.zeros_like(r, dtype=torch.bool).scatter(-1, top.indices, True), 0)
    assert torch.allclose(rest.sum(-1), (1 - top.values.sum(-1)))
    assert restrict_top_k(p, 0) is p


def test_rmia_online_offline_and_white_box_detect_a_shift():
    """Black-box RMIA reads each point's membership class (the class the IN shadows raise):
    it finds a shift on any class; the white-box reference reads the true label."""
    x = synthetic(shift=1.0)
    for name, floor in (("rmia", 0.85), ("rmia_offline", 0.8), ("whitebox_rmia", 0.95)):
        assert _auc(run_attack(name, x, AttackParams(), 0), x) > floor, name


def test_rmia_score_is_the_share_of_population_points_beaten():
    """The vectorised score against a direct reading of the definition: for victim v and
    point x, the share of z with [Pr(x|v)/Pr(x)] / [Pr(z|v)/Pr(z)] ≥ γ, Pr(·) the mean over the
    victim's IN and OUT shadows (online)."""
    from leakaudit.tmi.attacks.rmia import RmiaParams, rmia_scores

    g = np.random.default_rng(0)
    m, t, z = 8, 5, 7
    member = balanced_mask(t, m, 0, "r").T
    victims = np.array([0, 1])
    xp, zp = g.uniform(0.05, 1, (2, m, t)), g.uniform(0.05, 1, (2, m, z))
    shadows = np.ones((2, t, m), bool)
    shadows[:, :, :2] = False  # the victims' pair
    p = RmiaParams(gamma=1.3)
    got = rmia_scores(xp, zp, member, shadows, victims, p, online=True)
    for vi, v in enumerate(victims):
        refs = np.arange(2, m)
        pz = zp[vi][refs].mean(0)
        for j in range(t):
            ins = [r for r in refs if member[r, j]]
            outs = [r for r in refs if not member[r, j]]
            px = 0.5 * (xp[vi][ins, j].mean() + xp[vi][outs, j].mean())
            lr = (xp[vi][v, j] / px) / (zp[vi][v] / pz)
            assert got[vi, j] == pytest.approx((lr >= 1.3).mean(), abs=1e-5)
    # a larger γ beats fewer population points
    assert (rmia_scores(xp, zp, member, shadows, victims, RmiaParams(gamma=3.0), True)
            <= got + 1e-5).all()


def test_rmia_offline_fits_a_from_the_shadows_alone():
    from leakaudit.tmi.attacks.rmia import fit_a

    p_out = np.random.default_rng(1).uniform(0.1, 0.9, (3, 50))
    assert fit_a(0.4 * p_out + 0.6, p_out) == pytest.approx([0.4, 0.4, 0.4])


def test_rmia_without_population_points_fails_clearly():
    x = replace(synthetic(shift=1.0), pop_probs=None, pop_labels=None)
    with pytest.raises(ValueError, match="query.n_population"):
        run_attack("rmia", x, AttackParams(), 0)


def test_the_structured_null_exposes_a_leave_one_out_channel_the_independent_one_misses():
    """Structured null labels are a fresh balanced mask: complementary pairs, every point IN
    for half the models. A channel that leaks through the partner (leave-one-out shadows:
    a member has one IN shadow fewer) shows up under them and not under independent coins;
    leave-pair-out shadows (the audit's) show it under neither."""
    x = synthetic(shift=0.0)
    p = AttackParams(null_draws=1, structured_draws=1)
    sets = dict(label_sets(x, p, seed=0))
    s = sets["structured-0"].member
    assert (s[0::2] == ~s[1::2]).all() and (s.sum(0) == M // 2).all()
    v = x.victims

    def count_channel(labels: np.ndarray, leave_pair_out: bool) -> float:
        """A deliberately broken 'attack': minus the number of IN shadows of each point."""
        shadows = np.ones((len(v), M), bool)
        shadows[np.arange(len(v)), v] = False
        if leave_pair_out:
            shadows[np.arange(len(v)), v ^ 1] = False
        score = -(shadows[:, :, None] & labels[None]).sum(1).astype(float)  # [V, T]
        fpr, tpr = roc(score.reshape(-1), labels[v].reshape(-1))
        return auc(fpr, tpr)

    assert count_channel(s, leave_pair_out=False) > 0.95  # the structured null catches it
    assert abs(count_channel(sets["null-0"].member, leave_pair_out=False) - 0.5) < 0.15
    assert count_channel(s, leave_pair_out=True) == 0.5


@pytest.mark.parametrize("keep", [0.5, 0.75])
def test_dropout_gate_keeps_the_stated_share_of_live_units(keep):
    from leakaudit.tmi.attacks.tmi import _gate

    pre = torch.randn(50, 64, 33, generator=torch.Generator().manual_seed(0))  # odd size
    gate = _gate(pre, keep, torch.Generator().manual_seed(1))
    assert (gate[pre <= 0] == 0).all()  # the ReLU
    assert gate[pre > 0].mean().item() == pytest.approx(keep, abs=0.01)


def test_the_stage_device_reaches_the_metaclassifiers():
    """`run_attack(..., device)` trains TMI on that device: the same scores on the CPU given
    explicitly, and a device that cannot compute (PyTorch's shape-only "meta") fails there —
    the GPU path is this same code with ``device="cuda"``."""
    x = synthetic(shift=0.5)
    p = AttackParams(tmi=TmiParams(epochs=2))
    assert np.array_equal(run_attack("tmi", x, p, 3), run_attack("tmi", x, p, 3, "cpu"))
    with pytest.raises((NotImplementedError, RuntimeError)):
        run_attack("tmi", x, p, 3, torch.device("meta"))
    assert np.array_equal(run_attack("lira", x, p, 3), run_attack("lira", x, p, 3, "meta"))
