"""Parquet tables validated on write and on read, carrying lineage ids in their metadata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leakaudit.core.schemas import Schema, validate
from leakaudit.core.store import atomic_path

PREFIX = "leakaudit."


def write_table(df: pd.DataFrame, path: str | Path, schema: Schema, **meta: str | None) -> None:
    """Validate ``df`` against ``schema`` and write it atomically as parquet.

    Keyword arguments (e.g. ``audit_id=…``, ``mlflow_run_id=…``) go into the file's metadata.
    """
    df = validate(df.reset_index(drop=True), schema, source=str(path))
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    md = dict(arrow.schema.metadata or {})
    md[(PREFIX + "table").encode()] = schema.name.encode()
    for key, value in meta.items():
        if value is not None:
            md[(PREFIX + key).encode()] = str(value).encode()
    with atomic_path(path) as tmp:
        pq.write_table(arrow.replace_schema_metadata(md), tmp)


def read_table(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read a parquet table and validate it against ``schema``; errors name the file."""
    return validate(pd.read_parquet(path), schema, source=str(path))


def table_meta(path: str | Path) -> dict[str, str]:
    """The lineage metadata stored in a table (``table``, ``audit_id``, …)."""
    md = pq.read_schema(path).metadata or {}
    return {k.decode()[len(PREFIX):]: v.decode() for k, v in md.items()
            if k.decode().startswith(PREFIX)}
