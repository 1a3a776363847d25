"""pandera schemas for every table crossing a stage boundary."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.pandas import Check, Column, DataFrameSchema

_ID = {"checks": Check.ge(0), "nullable": False}

POINTS = DataFrameSchema(
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
)

MEMBERSHIP = DataFrameSchema(
    {
        "model_id": Column("int64", **_ID),
        "point_id": Column("int64", **_ID),
        "trained": Column(bool),
    },
    checks=Check(lambda df: (df.groupby("point_id").trained.mean() == 0.5).all(),
                 error="each pool point must be trained by exactly half the models"),
    unique=["model_id", "point_id"], strict=True, name="membership",
)

FINETUNE_SUBSETS = DataFrameSchema(
    {"model_id": Column("int64", **_ID), "point_id": Column("int64", **_ID)},
    unique=["model_id", "point_id"], strict=True, name="finetune_subsets",
)

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


SIGNALS = DataFrameSchema(
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
)

SCORES = DataFrameSchema(
    {
        # 'membership' (the real masks) or 'null-<k>' (the k-th random null labelling)
        "labels": Column(str, Check.str_matches(r"^(membership|null-\d+)$")),
        "attack": Column(str),
        "victim_id": Column("int64", **_ID),
        "point_id": Column("int64", **_ID),
        "score": Column("float64", Check(lambda s: s.notna(), error="not NaN")),
        "member": Column(bool),
    },
    unique=["labels", "attack", "victim_id", "point_id"], strict=True, name="scores",
)

BD_METRICS = DataFrameSchema(  # the privacy-backdoor audits' table (leakaudit.backdoor.analysis)
    {
        "replicate": Column("int64", Check.ge(-1)),  # a seed; -1 = mean over replicates
        "candidates": Column(str, Check.isin(["targets", "non_targets", "audit"])),
        "attack": Column(str),  # <arm>:<score>, amplification:<score>, specificity:…, stealth
        "metric": Column(str),
        "value": Column("float64", nullable=True),
        "low": Column("float64", nullable=True),
        "high": Column("float64", nullable=True),
        # TPR@FPR only: negatives behind the threshold and their distinct candidates
        "negatives": Column("float64", nullable=True),
        "negative_points": Column("float64", nullable=True),
        "reliable": Column(bool),
    },
    unique=["replicate", "candidates", "attack", "metric"], strict=True, name="bd_metrics",
)

AUDIT_METRICS = DataFrameSchema(
    {
        # 'membership' / 'null' (combined draws) / 'null-<k>'; replicate -1 = combined
        "labels": Column(str, Check.str_matches(r"^(membership|null|null-\d+)$")),
        "replicate": Column("int64", Check.ge(-1)),
        "attack": Column(str),
        "metric": Column(str),
        "value": Column("float64"),
        "low": Column("float64"),
        "high": Column("float64"),
        # TPR@FPR only: negatives behind the threshold and their distinct points (else NaN)
        "negatives": Column("float64", nullable=True),
        "negative_points": Column("float64", nullable=True),
        "reliable": Column(bool),
    },
    unique=["labels", "replicate", "attack", "metric"], strict=True, name="audit_metrics",
)

AUDIT_COMPARISONS = DataFrameSchema(
    {
        "labels": Column(str, Check.str_matches(r"^(membership|null|null-\d+)$")),
        "replicate": Column("int64", Check.ge(-1)),
        "attack": Column(str),
        "baseline": Column(str),
        "metric": Column(str),
        "kind": Column(str, Check.isin(["difference", "ratio"])),
        "value": Column("float64", nullable=True),
        "low": Column("float64", nullable=True),
        "high": Column("float64", nullable=True),
        "negatives": Column("float64", nullable=True),
        "reliable": Column(bool),
    },
    unique=["labels", "replicate", "attack", "baseline", "metric"], strict=True,
    name="audit_comparisons",
)

MODEL_STATS = DataFrameSchema(
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
)

# privacy-backdoor audit
BD_CANDIDATES = DataFrameSchema(
    {
        "candidate_id": Column("int64", unique=True, **_ID),
        "template": Column("int64", **_ID),
        "text": Column(str, Check.str_length(min_value=1), unique=True),
        "target": Column(bool),
    },
    strict=True, name="bd_candidates",
)

BD_MEMBERSHIP = DataFrameSchema(
    {
        "victim_id": Column("int64", **_ID),
        "candidate_id": Column("int64", **_ID),
        "member": Column(bool),
    },
    checks=Check(lambda df: (df.groupby("candidate_id").member.mean() == 0.5).all(),
                 error="each candidate must be a member of exactly half the victims"),
    unique=["victim_id", "candidate_id"], strict=True, name="bd_membership",
)

BD_SCORES = DataFrameSchema(
    {
        "arm": Column(str, Check.isin(["clean", "poisoned"])),
        "victim_id": Column("int64", Check.ge(-1)),  # -1: the released checkpoint
        "candidate_id": Column("int64", **_ID),
        r"neg_loss|min_k|top5|watermark": Column("float64", Check.le(0.0), regex=True),
    },
    unique=["arm", "victim_id", "candidate_id"], strict=True, name="bd_scores",
)

BD_IMAGE_CANDIDATES = DataFrameSchema(
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
)

BD_IMAGE_SCORES = DataFrameSchema(
    {
        "arm": Column(str, Check.isin(["clean", "poisoned"])),
        "victim_id": Column("int64", Check.ge(-1)),  # -1: the released checkpoint
        "candidate_id": Column("int64", **_ID),
        r"neg_loss|top5": Column("float64", Check.le(0.0), regex=True),
        "margin": Column("float64", Check(lambda s: s.notna().all() & s.abs().lt(1e6).all(),
                                          error="margin must be finite")),
    },
    unique=["arm", "victim_id", "candidate_id"], strict=True, name="bd_image_scores",
)

SCHEMAS: dict[str, DataFrameSchema] = {
    s.name: s for s in (POINTS, MEMBERSHIP, FINETUNE_SUBSETS, SIGNALS, SCORES, BD_METRICS,
                        AUDIT_METRICS, AUDIT_COMPARISONS, MODEL_STATS,
                        BD_CANDIDATES, BD_MEMBERSHIP, BD_SCORES, BD_IMAGE_CANDIDATES,
                        BD_IMAGE_SCORES)
}


# table-level checks pandera's column schemas cannot express: table → problems found
STRUCTURE = {"signals": _signals_structure}

STRUCTURAL = {
    "column_in_schema": "unexpected column (not in the schema)",
    "column_in_dataframe": "required column is missing",
}


class SchemaViolation(ValueError):
    """A table failed its schema; the message names the table and the column."""


def validate(df, table: str, source: str | None = None):
    """Validate ``df`` against the schema named ``table``; raise :class:`SchemaViolation`
    naming the table, the column and, when given, the ``source`` file."""
    schema = SCHEMAS[table]
    where = f"{source}: " if source else ""
    problems = STRUCTURE[table](df) if table in STRUCTURE else []
    if problems:
        raise SchemaViolation("\n".join(f"{where}table '{table}' {x}" for x in problems))
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        lines = []
        for (column, check), grp in cases.groupby(["column", "check"], dropna=False, sort=False):
            if check in STRUCTURAL:  # the failure case *is* the column name
                for name in grp.failure_case:
                    lines.append(f"{where}table '{table}' column '{name}': "
                                 f"{STRUCTURAL[check]}")
                continue
            examples = ", ".join(repr(v) for v in grp.failure_case.head(3).tolist())
            if isinstance(column, str) and column != table:
                lines.append(f"{where}table '{table}' column '{column}': {check} failed "
                             f"(e.g. {examples})")
            else:
                lines.append(f"{where}table '{table}': {check}")
        raise SchemaViolation("\n".join(lines)) from None
