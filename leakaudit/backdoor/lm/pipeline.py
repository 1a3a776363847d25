"""The language-model privacy-backdoor audit (``backdoor/dvc.yaml``), declared once: a tiny
GPT-2 (or your checkpoint) poisoned on synthetic PII. ``leakaudit pipelines sync`` writes its
``dvc.yaml`` from this."""

from __future__ import annotations

from leakaudit.backdoor import schemas
from leakaudit.backdoor.lm.config import BackdoorParams
from leakaudit.backdoor.pipeline import (
    BASE,
    FAMILY,
    THREAT,
    BackdoorPipeline,
    backdoor_stages,
)
from leakaudit.core.pipeline import Stage

PIPELINE = BackdoorPipeline(
    name="backdoor", folder="backdoor", params=BackdoorParams, preset_prefix="backdoor",
    threat=THREAT, family=FAMILY, scores=schemas.LM_SCORES,
    stages=backdoor_stages(
        "backdoor",
        Stage("lm-pretrain", "tasks.backdoor.lm_pretrain",
              ("base", "corpus", "lm", "lm_pretrain", "targets.locale"),
              writes={"base_model": BASE}),
        targets_params=("base.seed", "targets"),
        poison_params=("base", "corpus", "lm.context", "targets", "poison"),
        victims_params=("base", "corpus", "lm.context", "victims"),
        score_params=("base", "lm.context", "victims.n_victims", "score"),
        candidates=schemas.BD_CANDIDATES, scores=schemas.BD_SCORES,
    ),
)
