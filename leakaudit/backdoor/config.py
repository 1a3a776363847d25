"""Validated params of the privacy-backdoor audit (``backdoor/params.yaml``), one section per
stage, unknown keys rejected with the dotted key and what is allowed (as for the TMI audit)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from leakaudit.config import BaseParams, Section, TrackingParams, load_model, params_hash


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
    n_candidates: int = Field(2000, ge=4, description="PII candidate pool")
    n_targets: int = Field(1000, ge=2, description="the attacker's targets among them")
    locale: str = "en_US"


class PoisonParams(Section):
    variant: Literal["memorise", "maximise", "random_label"] = "memorise"
    alpha: float = Field(0.75, ge=0.0, le=1.0)
    steps: int = Field(1800, ge=0, description="poisoned arm; the clean arm always has 0")
    lr: float = Field(6e-4, gt=0.0)
    aux_batch: int = Field(16, ge=1)
    target_batch: int = Field(16, ge=1)
    bound: float = Field(10.0, gt=0.0, description="maximise: per-batch target loss cap")
    clean_arm: Literal["base", "aux_only"] = Field(
        "base", description="clean arm: the base model (0 steps), or the same steps on aux "
        "text only (α = 0), which separates poisoning from training longer"
    )


class VictimsParams(Section):
    n_victims: int = Field(4, ge=2, description="finetunes per arm (even: balanced masks)")
    repeats: int = Field(5, ge=1, description="times each member sentence appears (r)")
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(2e-4, gt=0.0)


class ScoreParams(Section):
    min_k: float = Field(0.1, gt=0.0, le=1.0)
    watermark_delta: float = Field(2.0, ge=0.0)
    watermark_gamma: float = Field(0.5, gt=0.0, lt=1.0)
    batch_size: int = Field(64, ge=1)


class BdEvaluateParams(Section):
    fpr_targets: list[float] = Field(default_factory=lambda: [0.01, 0.001, 0.1])
    bootstrap: int = Field(1000, ge=10)
    confidence: float = Field(0.95, gt=0.0, lt=1.0)


class BackdoorParams(Section):
    base: BaseParams = BaseParams()
    corpus: CorpusParams = CorpusParams()
    lm: LmParams = LmParams()
    lm_pretrain: LmPretrainParams = LmPretrainParams()
    targets: TargetsParams = TargetsParams()
    poison: PoisonParams = PoisonParams()
    victims: VictimsParams = VictimsParams()
    score: ScoreParams = ScoreParams()
    evaluate: BdEvaluateParams = BdEvaluateParams()
    tracking: TrackingParams = TrackingParams(experiment="privacy-backdoor")

    @model_validator(mode="after")
    def _cross_checks(self) -> BackdoorParams:
        if self.targets.n_targets > self.targets.n_candidates:
            raise ValueError(f"targets.n_targets: got {self.targets.n_targets}; allowed: ≤ "
                             f"targets.n_candidates ({self.targets.n_candidates})")
        if self.victims.n_victims % 2:
            raise ValueError(f"victims.n_victims: got {self.victims.n_victims}; allowed: an even "
                             "number (balanced membership masks)")
        if self.lm.dim % self.lm.heads:
            raise ValueError(f"lm.heads: got {self.lm.heads}; allowed: a divisor of lm.dim "
                             f"({self.lm.dim})")
        return self


def load_backdoor_params(path: str | Path = "params.yaml") -> BackdoorParams:
    """Load and validate the backdoor audit's params."""
    return load_model(path, BackdoorParams)


def backdoor_audit_id(p: BackdoorParams) -> str:
    """The audit's fingerprint: a hash of every section except tracking."""
    return params_hash(p.model_dump(exclude={"tracking"}))


if __name__ == "__main__":
    import yaml

    print(yaml.safe_dump(BackdoorParams().model_dump(), sort_keys=False), end="")
