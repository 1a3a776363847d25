import numpy as np
import pytest

from leakaudit.core.membership import balanced_mask, partner
from leakaudit.tmi.data.digits import load
from leakaudit.tmi.data.splits import (
    assign_roles,
    finetune_subsets,
    membership,
    null_labels,
    victims,
)
from leakaudit.tmi.params import PrepareParams

P = PrepareParams(n_models=8, n_pool=60, n_challenge=20, n_pretrain_test=30,
                  n_finetune_test=40, n_finetune_pool=100)


def test_balanced_mask_each_point_in_half_the_models():
    m = balanced_mask(50, 10, 0, "t")
    assert (m.sum(1) == 5).all() and (m.sum(0) == 25).all()
    assert np.array_equal(m, balanced_mask(50, 10, 0, "t"))
    assert not np.array_equal(m, balanced_mask(50, 10, 1, "t"))
    odd = balanced_mask(51, 4, 0, "t")
    assert (odd.sum(1) == 2).all() and set(odd.sum(0)) <= {25, 26}


def test_growing_the_audit_keeps_existing_models_and_balance():
    small, big = balanced_mask(40, 8, 0, "t"), balanced_mask(40, 16, 0, "t")
    assert np.array_equal(big[:, :8], small)
    assert (big.sum(1) == 8).all()


def test_roles_disjoint_and_reproducible():
    data = load(0.3, 0)
    pts = assign_roles(data, P, seed=0)
    assert pts.equals(assign_roles(data, P, seed=0))
    counts = pts.role.value_counts()
    assert counts["pool"] == 60 and counts["finetune"] == 100 and counts["finetune_test"] == 40
    # digits: up and down views share images, so no image may serve two roles
    assert pts.source_index.is_unique
    assert pts[pts.challenge].role.eq("pool").all() and pts.challenge.sum() == 20


def test_membership_balanced_and_null_labels_independent():
    pts = assign_roles(load(0.3, 0), P, seed=0)
    mem = membership(pts, P, seed=0)
    assert (mem.groupby("point_id").trained.sum() == P.n_models // 2).all()
    trained = mem.pivot(index="model_id", columns="point_id", values="trained").to_numpy()
    assert (trained[0::2] == ~trained[1::2]).all()  # complementary pairs
    draws = [null_labels(P.n_models, trained.shape[1], 0, k) for k in range(200)]
    assert not np.array_equal(draws[0], draws[1])
    # independent of the masks and of the pairing: partners agree as often as strangers
    agree_trained = np.mean([(d == trained).mean() for d in draws])
    agree_partner = np.mean([(d[0::2] == d[1::2]).mean() for d in draws])
    assert abs(agree_trained - 0.5) < 0.01 and abs(agree_partner - 0.5) < 0.01


def test_victims_are_whole_pairs_and_seeded():
    v = victims(64, 32, seed=1)
    assert len(v) == 32 and set(v[0::2] + 1) == set(v[1::2]) and (v[0::2] % 2 == 0).all()
    assert np.array_equal(v, victims(64, 32, seed=1))
    assert not np.array_equal(v, victims(64, 32, seed=2))
    assert np.array_equal(partner(np.array([0, 1, 6, 7])), [1, 0, 7, 6])
    with pytest.raises(ValueError, match="attack.n_victims"):
        victims(64, 3, seed=1)


def test_finetune_subsets_fraction_and_seed():
    pts = assign_roles(load(0.3, 0), P, seed=0)
    sub = finetune_subsets(pts, P, seed=0)
    assert (sub.groupby("model_id").size() == 85).all()
    assert sub.equals(finetune_subsets(pts, P, seed=0))
    a, b = (set(sub[sub.model_id == m].point_id) for m in (0, 1))
    assert a != b


def test_balanced_classes_draw_every_downstream_class_equally():
    """balance_classes: the downstream roles (and, sharing one collection, the pool) hold the
    classes in about equal shares although the source is skewed; off, nothing changes."""
    from dataclasses import replace

    data = load(0.3, 0)
    skewed = np.r_[np.flatnonzero(data.down_y == 0), np.flatnonzero(data.down_y != 0)[:300]]
    data = replace(data, up_x=data.up_x[skewed], up_y=data.up_y[skewed],
                   down_x=data.down_x[skewed], down_y=data.down_y[skewed])  # class 0: ~40 %
    p = P.model_copy(update={"n_pool": 100, "n_challenge": 20, "n_finetune_pool": 60})
    plain = assign_roles(data, p, seed=0)
    even = assign_roles(data, p.model_copy(update={"balance_classes": True}), seed=0)
    assert plain.equals(assign_roles(data, p, seed=0))  # the default draws are untouched

    def share0(pts, role):
        src = pts.source_index[pts.role == role]
        return (data.down_y[src] == 0).mean()

    assert share0(plain, "finetune") > 0.3 and share0(plain, "pool") > 0.3
    assert share0(even, "finetune") < 0.3 and share0(even, "pool") < 0.3
    for role in ("finetune", "finetune_test", "pool"):
        src = even.source_index[even.role == role]
        counts = np.bincount(data.down_y[src], minlength=5)
        assert counts.min() > 0.4 * counts.mean()  # every class present in a fair share
    assert even.source_index.is_unique
