"""Validated params of the privacy-backdoor audits, one section per stage, unknown keys rejected
with the dotted key and what is allowed (as for the TMI audit).

The sections both audits share — targets, poison, victims, evaluate — and their cross-checks
are declared once here (:class:`BackdoorAuditParams`); the language-model audit
(``backdoor/params.yaml``, :class:`BackdoorParams`) adds its corpus, model and scores, and the
vision audit (``leakaudit.backdoor.vision_config``) subclasses the shared sections with its own
defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from leakaudit.config import (
    AuditParams,
    BaseParams,
    EvaluateParams,
    Section,
    TrackingParams,
    load_model,
)

# shared fields: one declaration (type, bounds, meaning); each audit picks its own default
Variant = Literal["memorise", "maximise", "random_label"]
Alpha = Annotated[float, Field(ge=0.0, le=1.0, description="weight of the target term")]
Steps = Annotated[int, Field(ge=0, description="poisoned arm; the clean arm has 0 (or aux only)")]
PositiveFloat = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=1)]
CleanArm = Annotated[Literal["base", "aux_only"], Field(
    description="clean arm: the base model (0 steps), or the same steps on aux data only "
    "(α = 0), which separates poisoning from training longer")]
Victims = Annotated[int, Field(ge=2, description="finetunes per arm (even: balanced masks)")]
Repeats = Annotated[int, Field(ge=1, description="times each member appears (r)")]


class CorpusParams(Section):
    """Generic text (WordNet glosses, offline) and the synthetic PII the LM learns the format
    of; every split is seeded and disjoint."""

    wordnet_path: str = "/usr/share/wordnet"
    pretrain_texts: int = Field(20000, ge=10, description="generic texts for lm-pretrain")
    pretrain_pii: int = Field(2000, ge=0, description="faker sentences in pretraining")
    aux_texts: int = Field(4000, ge=10, description="generic texts the poisoner mixes in")
    victim_texts: int = Field(8000, ge=10, description="generic texts each victim mixes in")
    heldout_texts: int = Field(500, ge=10, description="stealth: generic held-out loss")


class LmParams(Section):
    """The released model: a tiny GPT-2 from a config, or your own checkpoint."""

    checkpoint: str | None = Field(
        None, description="a save_pretrained directory (or hub name online); None = pretrain"
    )
    vocab_size: int = Field(2048, ge=300)
    context: int = Field(64, ge=8)
    layers: int = Field(4, ge=1)
    dim: int = Field(128, ge=8)
    heads: int = Field(4, ge=1)


class LmPretrainParams(Section):
    steps: int = Field(1000, ge=0)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0.0)


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


class VictimsParams(Section):
    n_victims: Victims = 4
    repeats: Repeats = 5
    epochs: Count = 1
    batch_size: Count = 32
    lr: PositiveFloat = 2e-4


class ScoreParams(Section):
    min_k: float = Field(0.1, gt=0.0, le=1.0)
    watermark_delta: float = Field(2.0, ge=0.0)
    watermark_gamma: float = Field(0.5, gt=0.0, lt=1.0)
    batch_size: int = Field(64, ge=1)


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
        if self.targets.n_targets > self.targets.n_candidates:
            raise ValueError(f"targets.n_targets: got {self.targets.n_targets}; allowed: ≤ "
                             f"targets.n_candidates ({self.targets.n_candidates})")
        if self.victims.n_victims % 2:
            raise ValueError(f"victims.n_victims: got {self.victims.n_victims}; allowed: an even "
                             "number (balanced membership masks)")
        return self


class BackdoorParams(BackdoorAuditParams):
    """The language-model audit (``backdoor/params.yaml``)."""

    corpus: CorpusParams = CorpusParams()
    lm: LmParams = LmParams()
    lm_pretrain: LmPretrainParams = LmPretrainParams()
    score: ScoreParams = ScoreParams()
    tracking: TrackingParams = TrackingParams(experiment="privacy-backdoor")

    @model_validator(mode="after")
    def _cross_checks(self) -> BackdoorParams:
        if self.lm.dim % self.lm.heads:
            raise ValueError(f"lm.heads: got {self.lm.heads}; allowed: a divisor of lm.dim "
                             f"({self.lm.dim})")
        return self


def load_backdoor_params(path: str | Path = "params.yaml") -> BackdoorParams:
    """Load and validate the backdoor audit's params."""
    return load_model(path, BackdoorParams)


if __name__ == "__main__":
    import yaml

    print(yaml.safe_dump(BackdoorParams().model_dump(), sort_keys=False), end="")
