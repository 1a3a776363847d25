"""The privacy-backdoor audits' stages, shared by both audits (``backdoor/``,
``backdoor-vision/``) and declared once by :func:`backdoor_stages` with each audit's own
modules, params and schemas. What the family does differently from a TMI audit (terminal table,
report sections, seeds, flow artifacts, sweeps) is :mod:`leakaudit.backdoor.family`."""

from __future__ import annotations

from dataclasses import dataclass

from leakaudit.backdoor import schemas
from leakaudit.backdoor.arms import BASE, RELEASED_MODELS, VICTIM_MODELS
from leakaudit.core.pipeline import ALL_PARAMS, File, Pipeline, Stage, Table
from leakaudit.core.schemas import Schema

FAMILY = "leakaudit.backdoor.family"  # the family's behaviour module
THREAT = ("An attacker publishes a poisoned pretrained checkpoint; a victim finetunes it on "
          "private data, and the attacker later queries the finetuned model to tell which of "
          "its target records the victim trained on. The audit measures how much more the "
          "victim leaks than after finetuning a clean checkpoint, and at what cost to the "
          "checkpoint's quality (stealth).")

ROC_CSV = File("plots/roc.csv")
ROC_PNG = File("plots/roc.png")


@dataclass(frozen=True)
class BackdoorPipeline(Pipeline):
    """A privacy-backdoor audit; ``scores`` are the columns of its scores table."""

    scores: tuple[str, ...] = ()


def backdoor_stages(package: str, pretrain: Stage, targets_params: tuple[str, ...],
                    poison_params: tuple[str, ...], victims_params: tuple[str, ...],
                    score_params: tuple[str, ...], candidates: Schema, scores: Schema
                    ) -> tuple[Stage, ...]:
    """Every stage of a backdoor audit: the params check, ``pretrain`` (the base model), then
    targets, poison, victims and score from ``tasks.<package>``, the shared membership and
    evaluate stages and the report; each audit names the params its stages read and its
    schemas."""
    return (
        Stage("params", "tasks.params", (ALL_PARAMS,), torch=False, record=False,
              writes={"params_ok": File("outputs/params.ok", cache=False)}),
        pretrain,
        Stage("targets", f"tasks.{package}.targets", targets_params, torch=False,
              writes={"candidates": Table("candidates.parquet", candidates)}),
        # its own stage: a new victim design or count redraws the masks, never the poison
        Stage("membership", "tasks.backdoor.membership",
              ("base.seed", "victims.n_victims", "victims.membership"), torch=False,
              reads=("candidates",),
              writes={"membership": Table("membership.parquet", schemas.BD_MEMBERSHIP)}),
        Stage("poison", f"tasks.{package}.poison", poison_params,
              reads=("candidates", "base_model"), writes={"released": RELEASED_MODELS}),
        Stage("victims", f"tasks.{package}.victims", victims_params,
              reads=("candidates", "membership", "released"),
              writes={"victims": VICTIM_MODELS}),
        Stage("score", f"tasks.{package}.score", score_params,
              reads=("candidates", "released", "victims"),
              writes={"scores": Table("scores.parquet", scores),
                      "serving": File("outputs/score/serving.json")}),
        Stage("evaluate", "tasks.backdoor.evaluate",
              ("base.seed", "victims.membership", "victims.dp", "evaluate", "tracking"),
              torch=False,
              reads=("candidates", "membership", "scores", "poison.record", "victims.record"),
              writes={"metrics": Table("metrics.parquet", schemas.BD_METRICS),
                      "roc_csv": ROC_CSV, "roc_png": ROC_PNG,
                      "best_scores": File("outputs/evaluate/best_scores.json"),
                      "metrics_json": File("metrics.json", cache=False, metric=True)}),
        Stage("report", "tasks.report", (ALL_PARAMS,), torch=False, family=True,
              reads=("metrics_json", "roc_csv", "metrics"),
              writes={"report": File("report.html", cache=False)}),
    )


__all__ = ["BASE", "FAMILY", "THREAT", "BackdoorPipeline", "backdoor_stages"]
