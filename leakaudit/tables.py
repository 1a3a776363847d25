"""Parquet tables validated on write and on read, carrying the MLflow run id in metadata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leakaudit.schemas import validate
from leakaudit.store import atomic_path


def write_table(df: pd.DataFrame, path: str | Path, table: str, run_id: str | None = None) -> None:
    """Validate ``df`` as ``table`` and write it atomically as parquet."""
    df = validate(df.reset_index(drop=True), table)
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[b"leakaudit.table"] = table.encode()
    if run_id:
        meta[b"leakaudit.mlflow_run_id"] = run_id.encode()
    with atomic_path(path) as tmp:
        pq.write_table(arrow.replace_schema_metadata(meta), tmp)


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read a parquet table and validate it as ``table``."""
    return validate(pd.read_parquet(path), table)


def table_run_id(path: str | Path) -> str | None:
    """The MLflow run id stored in a table's metadata, if any."""
    meta = pq.read_schema(path).metadata or {}
    value = meta.get(b"leakaudit.mlflow_run_id")
    return value.decode() if value else None
