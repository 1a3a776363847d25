"""Helpers shared by the benchmarks: temporary repo copies and running commands in them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ITEMS = ("leakaudit", "tasks", "flows", "presets", ".dvc", "dvc.yaml", "params.yaml",
         ".dvcignore", ".gitignore")


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e['PATH']}"
    e.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    e.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    return e


def copy_repo(dest: Path) -> Path:
    """A fresh git repo with the pipeline and an empty DVC cache."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns(
                "__pycache__", "tmp", "cache", "config.local"))
        elif src.exists():
            shutil.copy2(src, dest / item)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=dest, check=True, env=env())
    return dest


def set_params(path: Path, **changes) -> None:
    """Set values in a params file: keys are dotted (``poison.steps``) or ``section__key``."""
    import yaml

    p = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.replace("__", ".").split(".")
        node = p
        for part in parents:
            node = node.setdefault(part, {})
        node[key] = value
    path.write_text(yaml.safe_dump(p, sort_keys=False))


def timed(cmd: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> float:
    """Run a command, fail loudly, return its wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env() | (extra_env or {}), capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0
