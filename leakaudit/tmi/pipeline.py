"""The TMI audit (``dvc.yaml`` at the repository root), declared once: every stage's module,
params, inputs and outputs. ``leakaudit pipelines sync`` writes its ``dvc.yaml`` from this.

Every stage but ``params``, ``evaluate`` and ``report`` runs once per replicate seed
(``replicates.seeds``) under ``outputs/replicates/seed-<s>/`` and ``models/replicates/seed-<s>/``.
"""

from __future__ import annotations

from typing import Any

from leakaudit.core.pipeline import ALL_PARAMS, File, Models, Pipeline, Stage, Table
from leakaudit.tmi import schemas
from leakaudit.tmi.params import Params

THREAT = ("An adversary who can only query a finetuned model wants to know whether a record "
          "was in the data its backbone was pretrained on. It trains shadow models the same "
          "way, queries them and the target with aligned views, and fits a metaclassifier per "
          "record (TMI); the table compares it with LiRA, a confidence threshold and a "
          "white-box upper bound on the same models.")

PARAMS_OK = File("outputs/params.ok", cache=False)
METRICS_JSON = File("metrics.json", cache=False, metric=True)
ROC_CSV = File("plots/roc.csv", cache=False)
ROC_PNG = File("plots/roc.png", cache=False)
# batched pretraining enters the model fingerprints; the other execution keys change nothing
FLEET = ("base", "data", "model", "pretrain", "execution.executor", "execution.group_size")


class TmiPipeline(Pipeline):
    """A TMI audit: its per-replicate stages run once per seed of ``replicates.seeds``."""

    replicate_key = "replicates.seeds"

    def replicates(self, params: Any) -> list[int]:
        return list(params.replicates.seeds)


PIPELINE = TmiPipeline(
    name="tmi", folder=".", params=Params, preset_prefix="", threat=THREAT,
    family="leakaudit.tmi.family",
    stages=(
        Stage("params", "tasks.params", (ALL_PARAMS,), writes={"params_ok": PARAMS_OK},
              torch=False, record=False),
        Stage("prepare", "tasks.prepare", ("data", "prepare"), per_replicate=True, torch=False,
              writes={"points": Table("points.parquet", schemas.POINTS),
                      "membership": Table("membership.parquet", schemas.MEMBERSHIP),
                      "finetune_subsets": Table("finetune_subsets.parquet",
                                                schemas.FINETUNE_SUBSETS)}),
        Stage("pretrain", "tasks.pretrain", FLEET, per_replicate=True,
              reads=("points", "membership"),
              writes={"pretrain_models": Models("pretrain", persist=True),
                      "pretrain_stats": Table("model_stats.parquet", schemas.MODEL_STATS)}),
        Stage("finetune", "tasks.finetune", (*FLEET, "finetune"), per_replicate=True,
              reads=("points", "membership", "finetune_subsets", "pretrain_models"),
              writes={"finetune_models": Models("finetune", persist=True),
                      "finetune_stats": Table("model_stats.parquet", schemas.MODEL_STATS)}),
        Stage("query", "tasks.query", ("base", "data", "model", "query"), per_replicate=True,
              reads=("points", "membership", "pretrain_models", "finetune_models"),
              writes={"signals": Table("signals_{view}.parquet", schemas.SIGNALS,
                                       ({"view": "finetuned"}, {"view": "pretrained"}))}),
        Stage("attack", "tasks.attack", ("base", "attack", "query.n_population"),
              per_replicate=True,
              reads=("points", "membership", "signals"),
              writes={"scores": Table("scores.parquet", schemas.SCORES)}),
        Stage("evaluate", "tasks.evaluate", ("replicates", "data", "evaluate", "tracking"),
              torch=False, reads=("scores", "pretrain_stats", "finetune_stats"),
              writes={"metrics": Table("metrics.parquet", schemas.AUDIT_METRICS),
                      "comparisons": Table("comparisons.parquet", schemas.AUDIT_COMPARISONS),
                      "metrics_json": METRICS_JSON, "roc_csv": ROC_CSV, "roc_png": ROC_PNG}),
        Stage("report", "tasks.report", (ALL_PARAMS,), torch=False, family=True,
              reads=("metrics_json", "roc_csv", "metrics"),
              writes={"report": File("report.html", cache=False)}),
    ),
)
