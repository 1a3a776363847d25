"""Validated params of the privacy-backdoor audits, one section per stage, unknown keys rejected
with the dotted key and what is allowed (as for the TMI audit).

The sections both audits share — targets, poison, victims, evaluate — and their cross-checks
are declared once here (:class:`BackdoorAuditParams`); the language-model audit
(``leakaudit.backdoor.lm.config``) adds its corpus, model and scores, and the vision audit
(``leakaudit.backdoor.vision.config``) subclasses the shared sections with its own defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leakaudit.core.params import (
    AuditParams,
    BaseParams,
    DpParams,
    EvaluateParams,
    Rule,
    Section,
)

# shared fields: one declaration (type, bounds, meaning); each audit picks its own default
Variant = Literal["memorise", "maximise", "random_label"]
Alpha = Annotated[float, Field(ge=0.0, le=1.0, description="weight of the target term")]
Steps = Annotated[int, Field(ge=0, description="poisoned arm; the clean arm has 0 (or aux only)")]
PositiveFloat = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=1)]
CleanArm = Annotated[Literal["base", "aux_only", "decoy"], Field(
    description="clean arm: the base model (0 steps), the same steps on aux data only "
    "(α = 0), or the same poisoning run on non-candidate decoys (leakaudit.backdoor.arms)")]
Control = Literal["base", "aux_only", "decoy"]
Victims = Annotated[int, Field(ge=2, description="finetunes per arm (even: balanced masks)")]
Repeats = Annotated[int, Field(ge=1, description="times each member appears (r)")]


class GenericSplits(Section):
    """Seeded, disjoint parts of an audit's generic data (no candidate is drawn from them):
    the benign base model's pretraining data, the poisoner's aux data, each victim's generic
    data and the held-out stealth set."""

    pretrain: int = Field(20000, ge=10, description="the benign base model's pretraining data")
    aux: int = Field(4000, ge=10, description="generic examples the poisoner mixes in")
    victim: int = Field(8000, ge=10, description="generic examples each victim mixes in")
    heldout: int = Field(500, ge=10, description="stealth: held-out loss (and accuracy)")

    def sizes(self, exclude: tuple[str, ...] = ()) -> dict[str, int]:
        """Each part's size, in the order the parts are drawn."""
        return {k: getattr(self, k) for k in GenericSplits.model_fields if k not in exclude}


class TargetsParams(Section):
    n_candidates: int = Field(2000, ge=4, description="candidate pool")
    n_targets: int = Field(1000, ge=2, description="the attacker's targets among them")
    locale: str = "en_US"


class PoisonParams(Section):
    variant: Variant = "memorise"
    alpha: Alpha = 0.75
    steps: Steps = 1800
    lr: PositiveFloat = 6e-4
    aux_batch: Count = 16
    target_batch: Count = 16
    bound: float = Field(10.0, gt=0.0, description="maximise: per-batch target loss cap")
    clean_arm: CleanArm = "base"
    stealth_controls: list[Control] = Field(
        default_factory=lambda: ["base", "aux_only"],
        description="checkpoints the poisoned one is compared with for stealth (trained for "
        "that only when not the clean arm)")


class VictimsParams(Section):
    n_victims: Victims = 4
    repeats: Repeats = 5
    epochs: Count = 1
    batch_size: Count = 32
    lr: PositiveFloat = 2e-4
    mode: Literal["full", "lora", "head_only"] = Field(
        "full", description="how victims finetune (leakaudit.backdoor.finetuning): every "
        "weight, LoRA adapters merged back, or the output head on a frozen backbone")
    lora_rank: Count = Field(8, description="lora: the adapters' rank")
    lora_alpha: PositiveFloat = Field(16.0, description="lora: scale alpha / rank")
    membership: Literal["balanced", "bernoulli"] = Field(
        "balanced", description="which candidates each victim trains on: balanced "
        "complementary masks (every candidate in half the victims), or each (victim, candidate) "
        "independently with probability ½ — the design the one-run DP audit needs")
    dp: DpParams = Field(default_factory=DpParams, description="DP-SGD victims (Opacus); "
                         "needs membership: bernoulli and repeats: 1 (one canary, one example)")


class PretrainLoopParams(Section):
    """How the base model is pretrained when no checkpoint is given (each audit adds its
    length: steps or epochs)."""

    batch_size: Count = 32
    lr: PositiveFloat = 1e-3


class ScoreParams(Section):
    """How candidates are scored on every victim and released checkpoint, and how the model is
    served to the attacker (the same for both arms)."""

    batch_size: Count = 64
    quantise: Literal["none", "int8", "int4"] = Field(
        "none", description="serve every convolution and linear weight quantised per output "
        "channel (round to nearest, symmetric; leakaudit.backdoor.serving)")


class OneRunAuditParams(Section):
    """The one-run DP audit of every victim (runs when ``victims.membership: bernoulli``;
    leakaudit.backdoor.dp_audit): its score and guess counts, fixed before any score is seen."""

    score: Literal["neg_loss", "calibrated"] = Field(
        "calibrated", description="the score the guesses rank (both are black-box)")
    guess_fraction: float = Field(
        0.2, gt=0.0, le=1.0, description="share of a victim's canaries guessed: IN for the top "
        "half of it, OUT for the bottom half (k+ = k- = round(fraction · canaries / 2))")


class BdEvaluateParams(EvaluateParams):
    """The TMI evaluate section with the backdoor audits' FPR targets (10 % too) and the
    one-run DP audit."""

    fpr_targets: list[float] = Field(default_factory=lambda: [0.01, 0.001, 0.1])
    dp_audit: OneRunAuditParams = Field(default_factory=OneRunAuditParams)


class BackdoorAuditParams(AuditParams):
    """What both privacy-backdoor audits share: the base, targets, poison, victims and
    evaluate sections (each audit may subclass them) and their cross-checks."""

    base: BaseParams = BaseParams()
    targets: TargetsParams = TargetsParams()
    poison: PoisonParams = PoisonParams()
    victims: VictimsParams = VictimsParams()
    evaluate: BdEvaluateParams = BdEvaluateParams()

    RULES = (
        Rule("targets.n_targets", lambda p: p.targets.n_targets <= p.targets.n_candidates,
             lambda p: f"≤ targets.n_candidates ({p.targets.n_candidates})"),
        Rule("victims.n_victims", lambda p: not p.victims.n_victims % 2,
             lambda p: "an even number (balanced membership masks)"),
        Rule("victims.membership", lambda p: not p.victims.dp.enabled
             or p.victims.membership == "bernoulli",
             lambda p: "bernoulli when victims.dp.enabled (the one-run audit's canaries are "
             "included independently with probability ½)"),
        Rule("victims.repeats", lambda p: not p.victims.dp.enabled or p.victims.repeats == 1,
             lambda p: "1 when victims.dp.enabled (ε is per example: a canary repeated r times "
             "is a group of r, with a weaker guarantee than the claimed ε)"),
    )
