"""Quiet, isolated Prefect and MLflow for tests; torch on one thread."""

import os
import tempfile

_home = tempfile.mkdtemp(prefix="prefect-home-")
os.environ.setdefault("PREFECT_HOME", _home)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import torch  # noqa: E402

torch.set_num_threads(1)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402


def expand_deps(deps: list[str], folder: Path) -> set[Path]:
    """A dvc.yaml stage's deps as files: a folder stands for every module below it."""
    out = set()
    for d in deps:
        p = (folder / d).resolve()
        out |= set(p.rglob("*.py")) if p.is_dir() else {p}
    return out


@pytest.fixture
def deps_cover_imports():
    """check(repo, folder): every project module each stage process of the pipeline in
    ``repo/folder`` imported (its run.json) is among that stage's dvc.yaml deps; returns the
    number of stage runs checked."""

    def check(repo: Path, folder: str = ".") -> int:
        root = repo / folder
        stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
        runs = sorted(root.glob("outputs/**/run.json"))
        for run in runs:
            rec = json.loads(run.read_text())
            st = stages[rec["stage"]]
            deps = expand_deps(st.get("do", st)["deps"], root)
            imported = {(repo / m).resolve() for m in rec["modules"]}
            assert imported and imported <= deps, (rec["stage"], sorted(imported - deps))
        return len(runs)

    return check


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flat(v, f"{prefix}{k}.")
    else:
        yield prefix[:-1], obj


def intervals_contain_estimates(metrics: dict) -> list[str]:
    """Every metric whose interval excludes its own estimate ("inf" bounds count as such)."""
    flat = {k: (float(v) if v in ("inf", "-inf") else v) for k, v in _flat(metrics)
            if not isinstance(v, str) or v in ("inf", "-inf")}  # text (the verdict) is no metric
    bad = []
    for key, low in flat.items():
        if key.endswith("_low") and isinstance(low, float | int):
            base = key[:-4]
            value, high = flat.get(base), flat.get(base + "_high")
            if value is not None and (low > value + 1e-9 or (high is not None
                                                              and high < value - 1e-9)):
                bad.append(base)
    return bad


def tables_contain_estimates(table) -> list[str]:
    """Rows of a metrics / comparisons table whose interval excludes its value."""
    bad = table[(table.low > table.value + 1e-9) | (table.high < table.value - 1e-9)]
    return [f"{r.attack}.{r.metric}" for r in bad.itertuples()]
