"""Validating tables at stage boundaries: a :class:`Schema` (a pandera schema plus the
table-level checks pandera's column schemas cannot express) and :func:`validate`, whose errors
name the table, the column and the file. Each audit family declares its own schemas
(``leakaudit.tmi.schemas``, ``leakaudit.backdoor.schemas``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.pandas import Check, Column, DataFrameSchema

ID = {"checks": Check.ge(0), "nullable": False}  # a non-negative, non-null id column


@dataclass(frozen=True)
class Schema:
    """A table's schema: ``frame`` (pandera; its name is the table's name) and ``structure``,
    checks of the whole table returning the problems found (e.g. missing grid rows)."""

    frame: DataFrameSchema
    structure: Callable[[pd.DataFrame], list[str]] | None = None

    @property
    def name(self) -> str:
        """The table's name (in errors and in the parquet metadata)."""
        return str(self.frame.name)


def estimate_columns(nullable: bool, points: bool = True) -> dict[str, Column]:
    """An estimate's columns in every metrics table: the value and its interval, then — for a
    TPR at a low FPR, else NaN — the negatives behind its threshold (and their distinct points
    or candidates), and whether that evidence is enough to report it."""
    cols = {k: Column("float64", nullable=nullable) for k in ("value", "low", "high")}
    cols["negatives"] = Column("float64", nullable=True)
    if points:
        cols["negative_points"] = Column("float64", nullable=True)
    return cols | {"reliable": Column(bool)}


def membership_schema(name: str, unit: str, item: str, flag: str, error: str) -> Schema:
    """A balanced membership table: one row per (``unit``, ``item``) with ``flag`` true for
    exactly half the units of every item (each point trained by half the models, each
    candidate a member of half the victims; :mod:`leakaudit.core.membership`)."""
    return Schema(DataFrameSchema(
        {unit: Column("int64", **ID), item: Column("int64", **ID), flag: Column(bool)},
        checks=Check(lambda df: (df.groupby(item)[flag].mean() == 0.5).all(), error=error),
        unique=[unit, item], strict=True, name=name))


STRUCTURAL = {
    "column_in_schema": "unexpected column (not in the schema)",
    "column_in_dataframe": "required column is missing",
}


class SchemaViolation(ValueError):
    """A table failed its schema; the message names the table and the column."""


def validate(df: pd.DataFrame, schema: Schema, source: str | None = None) -> pd.DataFrame:
    """Validate ``df`` against ``schema``; raise :class:`SchemaViolation` naming the table,
    the column and, when given, the ``source`` file."""
    table = schema.name
    where = f"{source}: " if source else ""
    problems = schema.structure(df) if schema.structure else []
    if problems:
        raise SchemaViolation("\n".join(f"{where}table '{table}' {x}" for x in problems))
    try:
        return schema.frame.validate(df, lazy=True)
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
