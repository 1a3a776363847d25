"""Validated params of the privacy-backdoor audits, one section per stage, unknown keys rejected
with the dotted key and what is allowed (as for the TMI audit).

The sections both audits share — targets, poison, victims, evaluate — and their cross-checks
are declared once here (:class:`BackdoorAuditParams`); the language-model audit
(``leakaudit.backdoor.lm.config``) adds its corpus, model and scores, and the vision audit
(``leakaudit.backdoor.vision.config``) subclasses the shared sections with its own defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from leakaudit.core.params import AuditParams, BaseParams, EvaluateParams, Section, require

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


class PretrainLoopParams(Section):
    """How the base model is pretrained when no checkpoint is given (each audit adds its
    length: steps or epochs)."""

    batch_size: Count = 32
    lr: PositiveFloat = 1e-3


class ScoreParams(Section):
    """How candidates are scored on every victim and released checkpoint."""

    batch_size: Count = 64


class BdEvaluateParams(EvaluateParams):
    """The TMI evaluate section with the backdoor audits' FPR targets (10 % too)."""

    fpr_targets: list[float] = Field(default_factory=lambda: [0.01, 0.001, 0.1])


class BackdoorAuditParams(AuditParams):
    """What both privacy-backdoor audits share: the base, targets, poison, victims and
    evaluate sections (each audit may subclass them) and their cross-checks."""

    base: BaseParams = BaseParams()
    targets: TargetsParams = TargetsParams()
    poison: PoisonParams = PoisonParams()
    victims: VictimsParams = VictimsParams()
    evaluate: BdEvaluateParams = BdEvaluateParams()

    @model_validator(mode="after")
    def _shared_checks(self) -> BackdoorAuditParams:
        t = self.targets
        require(t.n_targets <= t.n_candidates, "targets.n_targets", t.n_targets,
                f"≤ targets.n_candidates ({t.n_candidates})")
        require(not self.victims.n_victims % 2, "victims.n_victims", self.victims.n_victims,
                "an even number (balanced membership masks)")
        return self
