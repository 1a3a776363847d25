"""Validated params of the vision privacy-backdoor audit (``backdoor-vision/params.yaml``): the
paper's image setting on Fashion-MNIST with a small CNN. One section per stage; unknown keys are
rejected with the dotted key and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from leakaudit.backdoor.config import (
    Alpha,
    BackdoorAuditParams,
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


class ImagesParams(GenericSplits):
    """Fashion-MNIST (Debian ``dataset-fashion-mnist``): the parts are disjoint sets of the
    60k training images; the held-out stealth set is drawn from the 10k test images."""

    path: str = "/usr/share/datasets/fashion-mnist"
    aux: int = Field(10000, ge=10, description="generic images the poisoner mixes in")
    victim: int = Field(5000, ge=10, description="generic images each victim mixes in")
    heldout: int = Field(2000, ge=10, description="stealth: held-out loss and accuracy")


class CnnParams(Section):
    """The released model: a small CNN classifier, or your own checkpoint."""

    checkpoint: str | None = Field(
        None, description="a directory written by this tool's save (config.json + "
        "model.safetensors); None = pretrain one"
    )
    channels: int = Field(128, ge=8, description="width: conv blocks of channels/8, channels/4")
    feature_dim: int = Field(128, ge=2)


class CnnPretrainParams(PretrainLoopParams):
    epochs: int = Field(3, ge=0)
    batch_size: Count = 128


class ImageTargetsParams(TargetsParams):
    n_candidates: int = Field(200, ge=4, description="candidate pool (disjoint training images)")
    n_targets: int = Field(100, ge=2, description="the attacker's targets among them")
    locale: None = Field(None, exclude=True)  # text only
    transform: Literal["none", "invert"] = Field(
        "none", description="'invert': candidates are 1 − image (out of distribution)"
    )


class ImagePoisonParams(PoisonParams):
    variant: Variant = "maximise"  # best-vs-best on the tuning seed (docs/backdoor.md)
    alpha: Alpha = 0.3
    steps: Steps = 3000
    lr: PositiveFloat = 5e-4
    aux_batch: Count = 64
    target_batch: Count = 64
    calibrate: bool = Field(
        True, description="fold a temperature into the head of every released checkpoint and "
        "control (both arms alike), fitted on aux images held out of poisoning (predictions "
        "unchanged); stealth is reported before and after"
    )
    calibration_images: int = Field(
        1000, ge=1, description="calibrate: aux images held out of poisoning to fit the "
        "temperature on (fitting on the poisoned-on images sharpens an overfit model)"
    )


class ImageVictimsParams(VictimsParams):
    n_victims: int = Field(40, ge=2, description="finetunes per arm (even: balanced masks)")
    batch_size: Count = 64
    lr: PositiveFloat = 3e-4


class ImageScoreParams(ScoreParams):
    batch_size: Count = 512


class VisionBackdoorParams(BackdoorAuditParams):
    """The vision audit (``backdoor-vision/params.yaml``)."""

    images: ImagesParams = ImagesParams()
    cnn: CnnParams = CnnParams()
    cnn_pretrain: CnnPretrainParams = CnnPretrainParams()
    targets: ImageTargetsParams = ImageTargetsParams()
    poison: ImagePoisonParams = ImagePoisonParams()
    victims: ImageVictimsParams = ImageVictimsParams()
    score: ImageScoreParams = ImageScoreParams()
    tracking: TrackingParams = TrackingParams(experiment="privacy-backdoor-vision")

    RULES = (
        Rule("images", lambda p: _train_images(p) <= 60000, lambda p: "≤ 60000 (the training "
             "images, split disjointly)", lambda p: "pretrain + aux + victim + "
             f"targets.n_candidates + targets.n_targets (decoys) = {_train_images(p)}"),
        Rule("poison.calibration_images", lambda p: not p.poison.calibrate
             or p.poison.calibration_images < p.images.aux,
             lambda p: f"< images.aux ({p.images.aux})"),
        Rule("images.heldout", lambda p: p.images.heldout <= 10000, lambda p: "≤ 10000"),
    )


def _train_images(p: VisionBackdoorParams) -> int:
    """The training images the audit's disjoint parts take."""
    i, t = p.images, p.targets
    return i.pretrain + i.aux + i.victim + t.n_candidates + t.n_targets



def load_vision_params(path: str | Path = "params.yaml") -> VisionBackdoorParams:
    """Load and validate the vision backdoor audit's params."""
    return load_model(path, VisionBackdoorParams)
