import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from leakaudit.core.metrics import auc, best_balanced_accuracy, bootstrap_metrics, roc, tpr_at_fpr


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


def test_swapped_labels_mirror_the_auc_and_the_interval():
    r = np.random.default_rng(0)
    y = r.random(400) < 0.5
    s = r.normal(size=400) + y
    res = bootstrap_metrics(s, y, [0.01], 200, 0.95, np.random.default_rng(1))
    swapped = bootstrap_metrics(s, ~y, [0.01], 200, 0.95, np.random.default_rng(1))
    assert res["auc"].value == pytest.approx(1 - swapped["auc"].value)
    assert res["auc"].low > 0.7 and swapped["auc"].high < 0.3


def test_report_flags_thin_low_fpr_evidence_and_shows_comparisons():
    from leakaudit.tmi.report import render

    m = {"auc": 0.8, "auc_low": 0.75, "auc_high": 0.85,
         "tpr_at_1pct_fpr": 0.131, "tpr_at_1pct_fpr_low": 0.1, "tpr_at_1pct_fpr_high": 0.16,
         "tpr_at_1pct_fpr_negatives": 96, "tpr_at_1pct_fpr_points": 80,
         "tpr_at_0.1pct_fpr_unreliable": 0.036, "tpr_at_0.1pct_fpr_low": 0.0,
         "tpr_at_0.1pct_fpr_high": 0.05, "tpr_at_0.1pct_fpr_negatives": 9,
         "tpr_at_0.1pct_fpr_points": 9,
         "balanced_accuracy": 0.7, "balanced_accuracy_low": 0.68, "balanced_accuracy_high": 0.72}
    out = render({"tmi": m, "lira": m,
                  "null": {"tmi": {"auc": 0.501, "auc_low": 0.48, "auc_high": 0.52}},
                  "tmi_vs": {"lira": {"auc_difference": 0.02, "auc_difference_low": -0.01,
                                      "auc_difference_high": 0.05}},
                  "lira_vs": {"tmi": {"auc_difference": -0.02, "auc_difference_low": -0.05,
                                      "auc_difference_high": 0.01}},
                  "replicates": {"seed-1": {"tmi": 0.81}},
                  "utility": {"finetune_test_accuracy": 0.7}})
    assert "0.131 [0.100, 0.160] (96 neg)" in out
    assert "0.036" not in out and "n/a: 9 neg < 20" in out  # never printed as a plain number
    assert "0.501 [0.480, 0.520]" in out and "+0.020 [-0.010, +0.050]" in out
    assert "lira − attack" in out and "-0.020 [-0.050, +0.010]" in out  # the strongest's column
    assert "seed-1: AUC tmi 0.810" in out and "finetune_test_accuracy 0.700" in out


def test_utility_against_the_majority_baseline_and_the_chance_warning():
    import torch
    from torch import nn

    from leakaudit.tmi.report import render
    from leakaudit.tmi.training import held_out
    from leakaudit.tmi.utility import balanced_accuracy, downstream_warning

    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    assert balanced_accuracy(y, np.zeros_like(y)) == pytest.approx(1 / 3)
    assert balanced_accuracy(y, y) == 1.0

    class Fixed(nn.Module):  # predicts class 0 always: accuracy 0.6, balanced 1/3
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.tensor([[1.0, 0.0, 0.0]]).repeat(len(x), 1) + self.w

    st = held_out(Fixed(), torch.zeros(10, 2), torch.from_numpy(y), torch.tensor([0, 0, 1]))
    assert st["test_accuracy"] == pytest.approx(0.6) == st["majority_test_accuracy"]
    assert st["test_balanced_accuracy"] == pytest.approx(1 / 3)
    assert st["majority_test_balanced_accuracy"] == pytest.approx(1 / 3)
    at_chance = {"finetune_test_balanced_accuracy": 0.30,
                 "finetune_majority_test_balanced_accuracy": 0.25}
    warning = downstream_warning(at_chance, 0.15)
    assert warning.startswith("the finetuned model is at chance") and "+0.050" in warning
    useful = at_chance | {"finetune_test_balanced_accuracy": 0.45}
    assert downstream_warning(useful, 0.15) is None
    assert downstream_warning({"finetune_test_accuracy": 0.7}, 0.15) is None  # not measured
    assert "WARNING: the finetuned" in render({"utility": at_chance}, warning)


def test_an_unbounded_ratio_is_written_and_shown_as_such_by_every_renderer():
    """A ratio over a zero TPR (a clean arm that catches nobody in some resamples) is written
    as "inf" — never null — and shown as unbounded in the terminal and the report; a value on
    thin evidence is flagged in its value and its bounds (no key of it reads as a finding)."""
    import pandas as pd

    from leakaudit.backdoor.evaluation import summary_json
    from leakaudit.backdoor.report import html_sections, render_backdoor
    from leakaudit.core.statistics import entries

    row = dict(replicate=-1, candidates="targets", negatives=40.0, negative_points=30.0,
               reliable=True)
    table = pd.DataFrame([
        row | dict(attack="amplification:best", metric="tpr_at_1pct_fpr_ratio", value=3.0,
                   low=1.2, high=float("inf")),
        row | dict(attack="clean:best", metric="tpr_at_1pct_fpr", value=0.0, low=0.0,
                   high=0.05),
        row | dict(attack="poisoned:best", metric="tpr_at_1pct_fpr", value=0.2, low=0.1,
                   high=0.3),
        row | dict(attack="non_targets", metric="x", value=1.0, low=1.0, high=1.0),
        row | dict(candidates="non_targets", attack="amplification:neg_loss",
                   metric="tpr_at_1pct_fpr_ratio", value=float("inf"), low=0.5,
                   high=float("inf")),
    ])
    m = summary_json(table)
    assert m["amplification:best"]["tpr_at_1pct_fpr_ratio_high"] == "inf"
    assert m["non_targets"]["amplification:neg_loss"]["tpr_at_1pct_fpr_ratio"] == "inf"
    shown = render_backdoor(m)
    assert "3.000 [1.200, unbounded]" in shown and "non-targets" in shown
    assert "3.000 [1.200, unbounded]" in "".join(html_sections(m))
    thin = entries([pd.Series(dict(metric="tpr_at_1pct_fpr", value=0.1, low=0.05, high=0.2,
                                   negatives=40.0, negative_points=4.0, reliable=False))])
    assert set(thin) == {"tpr_at_1pct_fpr_unreliable", "tpr_at_1pct_fpr_unreliable_low",
                         "tpr_at_1pct_fpr_unreliable_high", "tpr_at_1pct_fpr_negatives",
                         "tpr_at_1pct_fpr_points"}
    from leakaudit.core.html_report import cell as html_cell
    from leakaudit.core.terminal import cell

    assert cell(thin, "tpr_at_1pct_fpr") == "n/a: 4 points < 10"
    assert "n/a: 4 points &lt; 10" in html_cell(thin, "tpr_at_1pct_fpr")


@pytest.mark.parametrize("folder", [".", "backdoor", "backdoor-vision", "backdoor-text"])
def test_every_committed_interval_contains_its_estimate(folder):
    import json
    from pathlib import Path

    from conftest import intervals_contain_estimates

    path = Path(__file__).resolve().parent.parent / folder / "metrics.json"
    assert intervals_contain_estimates(json.loads(path.read_text())) == []


def test_the_verdict_comes_from_the_strongest_query_access_row():
    """The verdict states the strongest query-access attack's TPR at 1 % FPR when it rests on
    enough evidence, else its AUC with the reason, and "no leakage" when the AUC interval
    reaches 0.5; white-box references are marked and never the verdict."""
    from leakaudit.tmi.report import render, verdict

    row = {"attack": "lira_diag", "auc": 0.786, "auc_low": 0.767, "auc_high": 0.803,
           "tpr_at_1pct_fpr": 0.138, "tpr_at_1pct_fpr_low": 0.098,
           "tpr_at_1pct_fpr_high": 0.172, "tpr_at_1pct_fpr_negatives": 32,
           "tpr_at_1pct_fpr_points": 31}
    assert verdict(row, 3).startswith("An attacker with query access to the finetuned model "
                                      "identifies 14% of pretraining members at 1 % FPR "
                                      "[10%, 17%] (lira_diag")
    thin = {k.replace("tpr_at_1pct_fpr", "tpr_at_1pct_fpr_unreliable", 1)
            if k in ("tpr_at_1pct_fpr", "tpr_at_1pct_fpr_low", "tpr_at_1pct_fpr_high") else k: v
            for k, v in row.items()} | {"tpr_at_1pct_fpr_negatives": 12}
    text = verdict(thin, 1)
    assert "AUC 0.786 [0.767, 0.803]" in text and "n/a: 12 neg < 20" in text and "14%" not in text
    chance = row | {"auc": 0.51, "auc_low": 0.49}
    assert verdict(chance, 3).startswith("No leakage detected")
    shown = render({"verdict": verdict(row, 3), "strongest": row, "lira_diag": row,
                    "whitebox_lira": row})
    assert shown.splitlines()[0].startswith("VERDICT: An attacker") and "whitebox_lira*" in shown
