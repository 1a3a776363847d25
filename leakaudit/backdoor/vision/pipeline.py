"""The vision privacy-backdoor audit (``backdoor-vision/dvc.yaml``), declared once: a small
CNN on Fashion-MNIST (or your checkpoint), the paper's image setting, run by the classifier
stages on the image domain. ``leakaudit pipelines sync`` writes its ``dvc.yaml`` from this."""

from __future__ import annotations

from leakaudit.backdoor import schemas
from leakaudit.backdoor.classifier_pipeline import STAGES, ClassifierPipeline
from leakaudit.backdoor.pipeline import BASE, FAMILY, THREAT, backdoor_stages
from leakaudit.backdoor.vision.config import VisionBackdoorParams
from leakaudit.backdoor.vision.domain import IMAGES
from leakaudit.core.pipeline import Stage

PIPELINE = ClassifierPipeline(
    name="backdoor-vision", folder="backdoor-vision", params=VisionBackdoorParams,
    preset_prefix="backdoor-vision", threat=THREAT, family=FAMILY, scores=schemas.IMAGE_SCORES,
    domain=IMAGES,
    stages=backdoor_stages(
        STAGES,
        Stage("pretrain", f"tasks.{STAGES}.pretrain",
              ("base", "images", "cnn", "cnn_pretrain", "targets.n_candidates"),
              writes={"base_model": BASE}),
        targets_params=("base.seed", "images", "targets"),
        poison_params=("base", "images", "targets", "poison"),
        victims_params=("base", "images", "targets", "victims"),
        score_params=("base", "images.path", "targets.transform", "victims.n_victims", "score"),
        candidates=schemas.BD_IMAGE_CANDIDATES, scores=schemas.BD_IMAGE_SCORES,
    ),
)
