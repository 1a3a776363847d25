"""Train a fleet of models with resume (finished models with a valid marker are skipped),
sequentially or fanned out as Prefect tasks (see :mod:`leakaudit.tmi.execution`). What a model
is trained from — and so its fingerprint — is :mod:`leakaudit.tmi.trainers` and the params
keys it reads; where and how the jobs run never changes a model."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.core import store
from leakaudit.core.imports import closure, digest
from leakaudit.core.params import AuditParams
from leakaudit.core.plugins import code_digest as plugin_digest
from leakaudit.core.plugins import is_import_path
from leakaudit.core.progress import progress
from leakaudit.core.registry import ROOT
from leakaudit.core.store import fingerprint
from leakaudit.tmi import trainers
from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.execution import run_jobs
from leakaudit.tmi.models import TransferNet
from leakaudit.tmi.params import ExecutionParams, Params

# stats keys added after a model may have been trained (older config.json files lack them)
STATS_DEFAULTS: dict[str, Any] = {
    "epsilon": float("nan"), "replaced_batchnorm": False, "test_balanced_accuracy": float("nan"),
    "majority_test_accuracy": float("nan"), "majority_test_balanced_accuracy": float("nan")}
TIMING = "seconds"  # wall time of a training job: reported in run.json, never stored with a model


def durable(stats: dict) -> dict:
    """A model's stats without its wall time (what its config.json and the stats table keep,
    so identical runs write identical files)."""
    return {k: v for k, v in stats.items() if k != TIMING}


def stats_table(stats: dict[int, dict], stage: str) -> pd.DataFrame:
    """The `model_stats` table of a fleet (one row per model, no wall times)."""
    return pd.DataFrame([{"model_id": m, "stage": stage, **STATS_DEFAULTS, **durable(st)}
                         for m, st in sorted(stats.items())])


def trained_seconds(stats: dict[int, dict]) -> dict[int, float]:
    """Wall seconds of the models trained in this run (resumed models have none)."""
    return {m: round(st[TIMING], 3) for m, st in sorted(stats.items()) if TIMING in st}


def code_files(root: Path = ROOT) -> set[Path]:
    """The project code that decides a model's weights: the import closure of
    :mod:`leakaudit.tmi.trainers` under ``root``, params modules excluded (their effect is the
    params values in the fingerprint)."""
    return closure([trainers.__name__], root, stop=(Params.__module__, AuditParams.__module__))


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of :func:`code_files` (paths and contents)."""
    return digest(code_files(), ROOT)


def pretrain_recipe(params: Params) -> dict[str, Any]:
    """What a pretrained model is a function of, beyond its training points: the params keys
    it reads (the data source's own section, the architecture's own keys; unrelated settings
    never retrain), the training code's digest, batched training (equal only up to float
    reassociation) and the digests of your own factories and checkpoint."""
    recipe: dict[str, Any] = {
        "base": params.base.model_dump(), "data": params.data.used(),
        "model": params.model.used(), "pretrain": params.pretrain.model_dump(),
        "code": code_digest()}
    if params.execution.executor == "batched":
        recipe["trainer"] = f"batched-{params.execution.group_size}"
    for spec in (params.model.arch, params.data.source):  # your own code: edits retrain
        if is_import_path(spec):
            recipe[spec] = plugin_digest(spec)
    if params.model.pretrained:  # your checkpoint: replacing it retrains
        from leakaudit.tmi.models.pretrained import checkpoint_digest

        recipe["pretrained_digest"] = checkpoint_digest(params.model.pretrained)
    return recipe


def pretrain_fingerprints(params: Params, points: pd.DataFrame, members: pd.DataFrame
                          ) -> dict[int, str]:
    """Per model: its recipe (:func:`pretrain_recipe`) and the source indices it trains on.
    Finetuned models inherit it through their parent's print."""
    src = points.set_index("point_id").source_index
    recipe = pretrain_recipe(params)
    return {
        int(m): fingerprint(recipe, sorted(src[g.point_id[g.trained]].tolist()))
        for m, g in members.groupby("model_id")
    }


def _save(directory: str, model_id: int, fp: str, state: dict, st: dict) -> dict:
    store.save_model(directory, state, {"model_id": model_id, "fingerprint": fp,
                                        "stats": durable(st)}, fp)
    return st


def pretrain_job(p: Params, model_id: int, train_idx: np.ndarray, test_idx: np.ndarray,
                 directory: str, fp: str, parallel: bool) -> dict:
    """Pretrain one model and write its directory (weights, config, marker last)."""
    state, st = trainers.pretrain_one(p, trainers.source(p), model_id, train_idx, test_idx,
                                      trainers.device(p, parallel))
    return _save(directory, model_id, fp, state, st)


def pretrain_group_job(p: Params, model_ids: list[int], train_idx: list[np.ndarray],
                       test_idx: np.ndarray, directories: list[str], fps: list[str]) -> list[dict]:
    """Pretrain a group of models at once as one batched ensemble and write each directory."""
    trained = trainers.pretrain_group(p, trainers.source(p), model_ids, train_idx, test_idx,
                                      trainers.device(p, parallel=False))
    return [_save(d, m, fp, state, st) for m, d, fp, (state, st)
            in zip(model_ids, directories, fps, trained, strict=True)]


def finetune_job(p: Params, model_id: int, pre_dir: str, pre_fp: str, subset_idx: np.ndarray,
                 test_idx: np.ndarray, directory: str, fp: str, parallel: bool) -> dict:
    """Finetune one pretrained model and write its directory."""
    pre = store.load_model_state(pre_dir, pre_fp)
    state, st = trainers.finetune_one(p, trainers.source(p), model_id, pre, subset_idx,
                                      test_idx, trainers.device(p, parallel))
    return _save(directory, model_id, fp, state, st)


def run_fleet(
    root: Path, model_ids: list[int], prints: dict[int, str],
    job: Callable[..., dict], job_args: Callable[[int, str, bool], tuple],
    ex: ExecutionParams, label: str,
    group_job: Callable[..., list[dict]] | None = None,
    group_args: Callable[[list[int], list[str]], tuple] | None = None,
) -> dict[int, dict]:
    """Train every model whose directory lacks a matching completion marker; return stats.

    ``job(*job_args(model_id, directory, parallel))`` trains one model and writes its directory
    atomically (weights, config, then marker), so a killed run resumes here without redoing
    finished models or reading half-written files. Jobs run where ``ex`` says; under the
    ``batched`` executor, ``group_job(*group_args(model_ids, directories))`` trains groups of
    ``ex.group_size`` models at once when given (else jobs run one by one).
    """
    store.prune_models(root, keep=max(model_ids) + 1)
    stats: dict[int, dict] = {}
    todo = [m for m in model_ids if not store.is_done(store.model_dir(root, m), prints[m])]
    for m in set(model_ids) - set(todo):
        stats[m] = store.read_json(store.model_dir(root, m) / "config.json")["stats"]
    if ex.executor == "batched" and group_job is not None and group_args is not None:
        results = []
        for start in progress(range(0, len(todo), ex.group_size), f"{label} (batched)",
                              "group"):
            chunk = todo[start : start + ex.group_size]
            results += group_job(*group_args(chunk, [str(store.model_dir(root, m))
                                                     for m in chunk]))
        stats.update(zip(todo, results, strict=True))
        return stats
    parallel = ex.executor not in ("sequential", "batched")
    jobs = [job_args(m, str(store.model_dir(root, m)), parallel) for m in todo]
    if not parallel:
        results = [job(*j) for j in progress(jobs, label, "model")]
    else:
        results = run_jobs(job, jobs, ex, label)
    stats.update(zip(todo, results, strict=True))
    return stats


def load_finetuned(p: Params, data: TransferData, directory: Path) -> TransferNet:
    """Rebuild a finetuned model from its directory (GroupNorm where DP replaced BatchNorm)."""
    replaced = store.read_json(directory / "config.json")["stats"].get("replaced_batchnorm")
    model = trainers.finetuned_model(p, data, bool(replaced))
    model.load_state_dict(store.load_model_state(directory))
    return model
