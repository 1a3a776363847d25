import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from leakaudit.metrics import auc, best_balanced_accuracy, bootstrap_metrics, roc, tpr_at_fpr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_matches_sklearn_with_ties(seed):
    r = np.random.default_rng(seed)
    y = r.random(500) < 0.4
    s = np.round(r.normal(size=500) + y, 1)
    fpr, tpr = roc(s, y)
    f2, t2, _ = roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(fpr, f2) and np.allclose(tpr, t2)
    assert auc(fpr, tpr) == pytest.approx(roc_auc_score(y, s))
    for target in (0.01, 0.1):
        assert tpr_at_fpr(fpr, tpr, target) == pytest.approx(t2[f2 <= target].max())
    bal = ((t2 + 1 - f2) / 2).max()
    assert best_balanced_accuracy(fpr, tpr) == pytest.approx(bal)


def test_perfect_and_chance():
    y = np.array([0, 0, 1, 1], bool)
    fpr, tpr = roc(np.array([0.1, 0.2, 0.8, 0.9]), y)
    assert auc(fpr, tpr) == 1.0 and tpr_at_fpr(fpr, tpr, 0.0) == 1.0
    fpr, tpr = roc(np.zeros(4), y)
    assert auc(fpr, tpr) == 0.5 and tpr_at_fpr(fpr, tpr, 0.01) == 0.0


def test_bootstrap_interval_brackets_estimate():
    r = np.random.default_rng(0)
    y = r.random(400) < 0.5
    s = r.normal(size=400) + y
    res = bootstrap_metrics(s, y, [0.01], 200, 0.95, np.random.default_rng(1))
    for iv in res.values():
        assert iv.low <= iv.value <= iv.high
    assert 0.7 < res["auc"].value < 0.85 and res["auc"].high - res["auc"].low < 0.15


def test_report_renders_every_attack_with_intervals():
    from leakaudit.report import render

    m = {k: 0.5 for k in ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")}
    m |= {f"{k}_{s}": 0.4 for k in list(m) for s in ("low", "high")}
    out = render({"tmi": m, "utility": {"finetune_test_accuracy": 0.7,
                                        "finetune_test_accuracy_low": 0.6}})
    assert "tmi" in out and "[0.400, 0.400]" in out and "finetune_test_accuracy 0.700" in out
