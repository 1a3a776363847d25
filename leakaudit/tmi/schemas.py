"""The TMI audit's tables: pandera schemas of every table crossing one of its stage
boundaries (files and owners are declared in :mod:`leakaudit.tmi.pipeline`)."""

from __future__ import annotations

from pandera.pandas import Check, Column, DataFrameSchema

from leakaudit.core.schemas import ID as _ID
from leakaudit.core.schemas import Schema, estimate_columns, membership_schema

POINTS = Schema(DataFrameSchema(
    {
        "point_id": Column("int64", unique=True, **_ID),
        "collection": Column(str, Check.isin(["up", "down"])),
        "source_index": Column("int64", **_ID),
        "label": Column("int64", **_ID),
        "role": Column(str, Check.isin(["pool", "pretrain_test", "finetune", "finetune_test"])),
        "challenge": Column(bool),
    },
    checks=Check(lambda df: (~df.challenge | (df.role == "pool")).all(),
                 error="challenge points must come from the pretraining pool"),
    strict=True, name="points",
))


MEMBERSHIP = membership_schema("membership", "model_id", "point_id", "trained",
                               "each pool point must be trained by exactly half the models")


FINETUNE_SUBSETS = Schema(DataFrameSchema(
    {"model_id": Column("int64", **_ID), "point_id": Column("int64", **_ID)},
    unique=["model_id", "point_id"], strict=True, name="finetune_subsets",
))

def _signals_structure(df) -> list[str]:
    """What makes a signals table incomplete beyond its columns' types: class columns that are
    not prob_0..prob_{C-1} and logodds_0..logodds_{C-1} for one C, and a model × point × view
    grid with rows missing."""
    problems = []
    classes = {p: {int(c[len(p):]) for c in df.columns
                   if c.startswith(p) and c[len(p):].isdigit()} for p in ("prob_", "logodds_")}
    n = max((max(v) + 1 for v in classes.values() if v), default=0)
    for prefix, have in classes.items():
        for c in sorted(set(range(max(n, 2))) - have):
            problems.append(f"column '{prefix}{c}': required column is missing (class columns "
                            f"must be {prefix}0..{prefix}{max(n, 2) - 1})")
    if {"model_id", "point_id", "view_id"} <= set(df.columns):
        sizes = [df[c].nunique() for c in ("model_id", "point_id", "view_id")]
        expected = sizes[0] * sizes[1] * sizes[2]
        if len(df) != expected:
            problems.append(f"rows: {expected - len(df)} of the {expected} model × point × "
                            f"view rows are missing ({sizes[0]} models, {sizes[1]} points, "
                            f"{sizes[2]} views)")
    return problems


SIGNALS = Schema(DataFrameSchema(
    {
        "model_id": Column("int64", **_ID),
        "point_id": Column("int64", **_ID),
        "view_id": Column("int64", **_ID),
        r"prob_\d+": Column("float32", Check.in_range(0.0, 1.0), regex=True),
        r"logodds_\d+": Column("float32", Check(lambda s: s.notna() & ~s.isin([float("inf"),
                                                 float("-inf")]), element_wise=False,
                                                 error="finite"), regex=True),
    },
    unique=["model_id", "point_id", "view_id"], strict=True, name="signals",
), structure=_signals_structure)


SCORES = Schema(DataFrameSchema(
    {
        # 'membership' (the real masks), 'null-<k>' (the k-th random null labelling) or
        # 'structured-<k>' (the k-th fresh balanced mask)
        "labels": Column(str, Check.str_matches(r"^(membership|null-\d+|structured-\d+)$")),
        "attack": Column(str),
        "victim_id": Column("int64", **_ID),
        "point_id": Column("int64", **_ID),
        "score": Column("float64", Check(lambda s: s.notna(), error="not NaN")),
        "member": Column(bool),
    },
    unique=["labels", "attack", "victim_id", "point_id"], strict=True, name="scores",
))


# an evaluated row: 'membership' / 'null' or 'structured' (combined draws) / 'null-<k>' /
# 'structured-<k>'; replicate -1 = combined
_EVALUATED = {"labels": Column(str, Check.str_matches(
    r"^(membership|null|null-\d+|structured|structured-\d+)$")),
              "replicate": Column("int64", Check.ge(-1)), "attack": Column(str)}

AUDIT_METRICS = Schema(DataFrameSchema(
    {
        **_EVALUATED,
        "metric": Column(str),
        **estimate_columns(nullable=False),
    },
    unique=["labels", "replicate", "attack", "metric"], strict=True, name="audit_metrics",
))


AUDIT_COMPARISONS = Schema(DataFrameSchema(
    {
        **_EVALUATED,
        "baseline": Column(str),
        "metric": Column(str),
        "kind": Column(str, Check.isin(["difference", "ratio"])),
        **estimate_columns(nullable=True, points=False),
    },
    unique=["labels", "replicate", "attack", "baseline", "metric"], strict=True,
    name="audit_comparisons",
))


MODEL_STATS = Schema(DataFrameSchema(
    {
        "model_id": Column("int64", **_ID),
        "stage": Column(str, Check.isin(["pretrain", "finetune"])),
        "train_loss": Column("float64"),
        "train_accuracy": Column("float64", Check.in_range(0.0, 1.0)),
        "test_accuracy": Column("float64", Check.in_range(0.0, 1.0)),
        # held-out balanced accuracy, and both accuracies of the majority baseline
        # (NaN for models trained before they were recorded)
        "test_balanced_accuracy": Column("float64", Check.in_range(0.0, 1.0), nullable=True),
        "majority_test_accuracy": Column("float64", Check.in_range(0.0, 1.0), nullable=True),
        "majority_test_balanced_accuracy": Column("float64", Check.in_range(0.0, 1.0),
                                                  nullable=True),
        "epsilon": Column("float64", nullable=True),
        "replaced_batchnorm": Column(bool),
    },
    unique=["model_id", "stage"], strict=True, name="model_stats",
))
