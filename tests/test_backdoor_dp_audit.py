"""The one-run DP audit of the backdoor victims (leakaudit.backdoor.dp_audit): Bernoulli canary
masks, bounds and the paired arm comparison on synthetic scores whose leakage is known, a
violated claim that fails loudly, the params rules, and DP-SGD victims (Opacus)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from leakaudit.backdoor.arms import RELEASED
from leakaudit.backdoor.dp_audit import ClaimViolated, check_claim
from leakaudit.backdoor.evaluation import evaluation_tables, run_grids, summary_json
from leakaudit.backdoor.schemas import BD_MEMBERSHIP
from leakaudit.backdoor.targets import membership_table
from leakaudit.core.params import DpParams
from leakaudit.core.schemas import SchemaViolation, validate

SCORES = ("neg_loss",)


def params(dp: bool = False, epsilon: float = 8.0) -> SimpleNamespace:
    return SimpleNamespace(
        evaluate=SimpleNamespace(fpr_targets=[0.1], bootstrap=300, confidence=0.95,
                                 dp_audit=SimpleNamespace(score="neg_loss", guess_fraction=0.2)),
        victims=SimpleNamespace(membership="bernoulli",
                                dp=DpParams(enabled=dp, epsilon=epsilon)))


def synth(signal: dict[str, float], n_targets: int = 200, n_victims: int = 8, seed: int = 0
          ) -> dict[int, dict]:
    """One replicate: members' scores rise by ``signal[arm]`` on the targets (Bernoulli masks,
    the same noise in both arms so the comparison is paired)."""
    g = np.random.default_rng(seed)
    n = 2 * n_targets
    cands = pd.DataFrame({"candidate_id": np.arange(n, dtype=np.int64),
                          "target": np.arange(n) < n_targets})
    mem = membership_table(cands.candidate_id.to_numpy(), n_victims, seed, "bernoulli")
    noise = {v: g.normal(size=n) for v in [RELEASED, *range(n_victims)]}
    rows = []
    for arm in ("clean", "poisoned"):
        for v in [RELEASED, *range(n_victims)]:
            m = mem[mem.victim_id == v].member.to_numpy() if v >= 0 else np.zeros(n, bool)
            rows.append(pd.DataFrame({"arm": arm, "victim_id": v,
                                      "candidate_id": cands.candidate_id,
                                      "neg_loss": noise[v] + m * cands.target * signal[arm]}))
    return {seed: {"candidates": cands, "members": mem, "scores": pd.concat(rows),
                   "stealth": {}}}


def dp_summary(runs: dict, p: SimpleNamespace) -> dict:
    table, _ = evaluation_tables(runs, SCORES, p)
    t = table[table.value.notna()]  # a TPR ratio over two zero TPRs is undefined
    assert (t.low <= t.value + 1e-12).all() and (t.value <= t.high + 1e-12).all()
    return summary_json(table)["dp_audit"]


def test_bernoulli_masks_are_independent_and_the_schema_knows_the_design() -> None:
    mem = membership_table(np.arange(400), 8, 1, "bernoulli")
    frac = mem.groupby("candidate_id").member.mean()
    assert (frac != 0.5).any() and 0.4 < mem.member.mean() < 0.6
    validate(mem, BD_MEMBERSHIP)
    with pytest.raises(SchemaViolation, match="bd_membership"):
        validate(mem.assign(design="balanced"), BD_MEMBERSHIP)
    validate(membership_table(np.arange(40), 8, 1), BD_MEMBERSHIP)


def test_the_poisoned_arm_guesses_better_and_its_bound_is_higher() -> None:
    d = dp_summary(synth({"clean": 0.3, "poisoned": 2.0}), params())
    assert d["difference"]["correct_rate_diff_low"] > 0.1
    assert d["poisoned"]["epsilon_lb"] > d["clean"]["epsilon_lb"]
    assert d["poisoned"]["epsilon_lb"] <= d["poisoned"]["ceiling"]
    assert d["poisoned"]["guesses"] == 8 * 2 * d["guesses_per_side"] == 8 * 2 * 20
    assert d["claimed_epsilon"] == "none (victims without DP)"


def test_no_signal_gives_no_bound_and_no_difference() -> None:
    d = dp_summary(synth({"clean": 0.0, "poisoned": 0.0}), params())
    assert d["clean"]["epsilon_lb"] == 0.0 and d["poisoned"]["epsilon_lb"] == 0.0
    assert d["difference"]["correct_rate_diff"] == 0.0  # same noise, same guesses


def test_swapped_membership_guesses_wrong() -> None:
    runs = synth({"clean": 2.0, "poisoned": 2.0})
    runs[0]["members"] = runs[0]["members"].assign(member=lambda df: ~df.member)
    d = dp_summary(runs, params())
    assert d["clean"]["correct_rate"] < 0.2 and d["clean"]["epsilon_lb"] == 0.0


def test_a_bound_above_the_claim_fails_loudly_and_names_the_victims() -> None:
    runs = synth({"clean": 0.0, "poisoned": 6.0})
    grids = run_grids(runs, SCORES)
    with pytest.raises(ClaimViolated, match=r"seed-0/poisoned/v\d{3}"):
        check_claim(grids, params(dp=True, epsilon=0.05))
    check_claim(grids, params(dp=True, epsilon=8.0))
    check_claim(grids, params(dp=False))  # no claim, nothing to violate


def test_dp_victims_need_independent_single_copy_canaries() -> None:
    from leakaudit.backdoor.vision.config import VisionBackdoorParams
    from leakaudit.core.params import ParamsError

    base = VisionBackdoorParams().model_dump()
    with pytest.raises((ParamsError, ValueError), match="victims.membership"):
        VisionBackdoorParams.model_validate(
            base | {"victims": base["victims"] | {"dp": {"enabled": True}, "repeats": 1}})
    with pytest.raises((ParamsError, ValueError), match="victims.repeats"):
        VisionBackdoorParams.model_validate(base | {"victims": base["victims"] | {
            "dp": {"enabled": True}, "membership": "bernoulli", "repeats": 3}})


def test_dp_sgd_victims_freeze_batchnorm_spend_the_target_and_replay() -> None:
    from leakaudit.backdoor.private import train_private
    from leakaudit.backdoor.vision.model import build, example_losses

    torch.manual_seed(0)
    x, y = torch.randn(96, 1, 28, 28), torch.randint(0, 10, (96,))

    def run(seed: int) -> tuple[dict, dict, object]:
        torch.manual_seed(0)
        model = build(16, 16)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        res = train_private(model, (x, y), example_losses, 1, 16, 1e-2,
                            DpParams(enabled=True, epsilon=4.0, max_grad_norm=1.0),
                            torch.Generator().manual_seed(seed))
        return before, model.state_dict(), res

    before, after, res = run(1)
    assert res.epsilon_spent == pytest.approx(4.0, rel=0.05) and res.frozen_batchnorm == 2
    assert res.noise_multiplier > 0
    bn = [k for k in after if ".1." in k or ".5." in k]  # the two BatchNorm2d layers
    assert bn and all(torch.equal(before[k], after[k]) for k in bn)
    assert not torch.equal(before["1.weight"], after["1.weight"])
    assert all(torch.equal(after[k], run(1)[1][k]) for k in after)  # seeded: replays
    assert not torch.equal(after["1.weight"], run(2)[1]["1.weight"])


def test_dp_sgd_trains_a_tied_gpt2() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    from leakaudit.backdoor.lm.model import example_losses
    from leakaudit.backdoor.private import train_private

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=50,
                                       n_positions=8, bos_token_id=0, eos_token_id=0))
    ids = torch.randint(0, 50, (32, 8))
    att = torch.ones_like(ids)
    att[:, 6:] = 0
    wte = model.transformer.wte.weight.detach().clone()
    res = train_private(model, (ids, att), example_losses, 1, 8, 1e-2, DpParams(enabled=True),
                        torch.Generator().manual_seed(0))
    assert res.steps > 0 and not torch.equal(wte, model.transformer.wte.weight)
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
