"""The privacy-backdoor audits' tables: pandera schemas of every table crossing one of their
stage boundaries (files and owners are declared in each audit's ``pipeline`` module)."""

from __future__ import annotations

from pandera.pandas import Check, Column, DataFrameSchema

from leakaudit.backdoor.arms import ARMS
from leakaudit.core.schemas import ID as _ID
from leakaudit.core.schemas import Schema, estimate_columns

# the score columns of each audit's scores table (higher = more likely member)
LM_SCORES = ("neg_loss", "min_k", "top5", "watermark")  # log-probabilities: ≤ 0
IMAGE_LOG_SCORES = ("neg_loss", "top5")  # log-probabilities: ≤ 0
IMAGE_SCORES = (*IMAGE_LOG_SCORES, "margin")

# the metrics table of both audits (leakaudit.backdoor.analysis)
BD_METRICS = Schema(DataFrameSchema(
    {
        "replicate": Column("int64", Check.ge(-1)),  # a seed; -1 = mean over replicates
        "candidates": Column(str, Check.isin(["targets", "non_targets", "audit"])),
        "attack": Column(str),  # <arm>:<score>, amplification:<score>, specificity:…, stealth
        "metric": Column(str),
        **estimate_columns(nullable=True),
    },
    unique=["replicate", "candidates", "attack", "metric"], strict=True, name="bd_metrics",
))


BD_CANDIDATES = Schema(DataFrameSchema(
    {
        "candidate_id": Column("int64", unique=True, **_ID),
        "template": Column("int64", **_ID),
        "text": Column(str, Check.str_length(min_value=1), unique=True),
        "target": Column(bool),
    },
    strict=True, name="bd_candidates",
))


def _balanced_where_declared(df) -> bool:
    """A ``balanced`` table has each candidate in exactly half the victims."""
    balanced = df[df.design == "balanced"]
    return bool((balanced.groupby("candidate_id").member.mean() == 0.5).all())


BD_MEMBERSHIP = Schema(DataFrameSchema(
    {
        "victim_id": Column("int64", **_ID),
        "candidate_id": Column("int64", **_ID),
        "member": Column(bool),
        "design": Column(str, Check.isin(["balanced", "bernoulli"])),  # victims.membership
    },
    checks=[Check(lambda df: df.design.nunique() <= 1, error="one design per table"),
            Check(_balanced_where_declared, error="design balanced: each candidate must be a "
                  "member of exactly half the victims")],
    unique=["victim_id", "candidate_id"], strict=True, name="bd_membership",
))


BD_SCORES = Schema(DataFrameSchema(
    {
        "arm": Column(str, Check.isin(list(ARMS))),
        "victim_id": Column("int64", Check.ge(-1)),  # -1: the released checkpoint
        "candidate_id": Column("int64", **_ID),
        "|".join(LM_SCORES): Column("float64", Check.le(0.0), regex=True),
    },
    unique=["arm", "victim_id", "candidate_id"], strict=True, name="bd_scores",
))


BD_IMAGE_CANDIDATES = Schema(DataFrameSchema(
    {
        "candidate_id": Column("int64", unique=True, **_ID),
        "source_index": Column("int64", unique=True, **_ID),  # into Fashion-MNIST's train split
        "label": Column("int64", Check.in_range(0, 9)),
        "poison_label": Column("int64", Check.in_range(0, 9)),  # random_label: ≠ label
        "target": Column(bool),
    },
    checks=Check(lambda df: (df.poison_label != df.label).all(),
                 error="poison_label must differ from label"),
    strict=True, name="bd_image_candidates",
))


BD_IMAGE_SCORES = Schema(DataFrameSchema(
    {
        "arm": Column(str, Check.isin(list(ARMS))),
        "victim_id": Column("int64", Check.ge(-1)),  # -1: the released checkpoint
        "candidate_id": Column("int64", **_ID),
        "|".join(IMAGE_LOG_SCORES): Column("float64", Check.le(0.0), regex=True),
        "margin": Column("float64", Check(lambda s: s.notna().all() & s.abs().lt(1e6).all(),
                                          error="margin must be finite")),
    },
    unique=["arm", "victim_id", "candidate_id"], strict=True, name="bd_image_scores",
))
