"""Train a fleet of models with resume (finished models with a valid marker are skipped),
sequentially or fanned out as Prefect tasks (see :mod:`leakaudit.execution`)."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakaudit import store
from leakaudit.config import ExecutionParams, Params
from leakaudit.data.transfer import TransferData
from leakaudit.execution import run_jobs
from leakaudit.models import TransferNet, build_model
from leakaudit.plugins import code_digest as plugin_digest
from leakaudit.plugins import is_import_path
from leakaudit.progress import progress
from leakaudit.seeds import seed_int, torch_generator
from leakaudit.training import finetune, train
from leakaudit.utility import held_out

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


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (params sections, index lists, parent prints)."""
    blob = json.dumps([p.tolist() if isinstance(p, np.ndarray) else p for p in parts],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


PRETRAIN_SECTIONS = ("base", "data", "model", "pretrain")

# the library code a trained model depends on (beyond its params): a change retrains, where
# a fingerprint of params alone would let a resumed stage keep models from the old code
TRAINING_CODE = ("training.py", "ensemble.py", "mlm.py", "dp.py", "seeds.py", "models", "data")


@functools.lru_cache(maxsize=4)
def code_digest(parts: tuple[str, ...] = TRAINING_CODE, root: Path | None = None) -> str:
    """SHA-256 of the named library files (folders: every .py below them; relative to
    ``root``, default this package), in path order."""
    root = root or Path(__file__).resolve().parent
    files = sorted(f for part in parts for f in ((root / part).rglob("*.py")
                                                 if (root / part).is_dir() else [root / part]))
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def pretrain_fingerprints(params: Params, points: pd.DataFrame, members: pd.DataFrame
                          ) -> dict[int, str]:
    """Per model: its recipe (params and the training code's digest) and the source indices it
    trains on (and, for batched training, which is equal only up to float reassociation, the
    trainer and group size). Finetuned models inherit it through their parent's print."""
    src = points.set_index("point_id").source_index
    recipe = params.model_dump(include=set(PRETRAIN_SECTIONS)) | {"code": code_digest()}
    if params.execution.executor == "batched":
        recipe["trainer"] = f"batched-{params.execution.group_size}"
    for spec in (params.model.arch, params.data.source):  # your own code: edits retrain
        if is_import_path(spec):
            recipe[spec] = plugin_digest(spec)
    if params.model.pretrained:  # your checkpoint: replacing it retrains
        from leakaudit.models.pretrained import checkpoint_digest

        recipe["pretrained_digest"] = checkpoint_digest(params.model.pretrained)
    return {
        int(m): fingerprint(recipe, sorted(src[g.point_id[g.trained]].tolist()))
        for m, g in members.groupby("model_id")
    }


_INIT_LOCK = threading.Lock()


def new_model(p: Params, data: TransferData, model_id: int) -> TransferNet:
    """A freshly initialised upstream model (backbone init shared only if model.share_init)."""
    with _INIT_LOCK:  # layer init draws from torch's global RNG: keep threads apart
        torch.manual_seed(seed_int(p.base.seed, "init", 0 if p.model.share_init else model_id))
        model = build_model(p.model, data.image_shape, data.n_up_classes, data.vocab_size)
    if p.model.share_init:
        model.replace_head(data.n_up_classes, torch_generator(p.base.seed, "init-head", model_id))
    return model


def pretrain_one(p: Params, data: TransferData, model_id: int, train_idx: np.ndarray,
                 test_idx: np.ndarray, device: torch.device) -> tuple[dict, dict]:
    """Pretrain one model on its half of the pool; return (state dict, stats)."""
    t0 = time.perf_counter()
    model = new_model(p, data, model_id).to(device)
    x, y = torch.from_numpy(data.up_x[train_idx]), torch.from_numpy(data.up_y[train_idx])
    gen = torch_generator(p.base.seed, "pretrain", model_id)
    if p.pretrain.objective == "mlm":
        from leakaudit.mlm import train_mlm

        res = train_mlm(model.backbone, x, p.pretrain, gen, precision=p.base.precision)
    else:
        res = train(model, x, y, p.pretrain, gen, precision=p.base.precision)
    test = held_out(model, torch.from_numpy(data.up_x[test_idx]),
                    torch.from_numpy(data.up_y[test_idx]), y)
    stats = {"train_loss": res.final_loss, "train_accuracy": res.train_accuracy,
             **test, "seconds": time.perf_counter() - t0,
             "epsilon": float("nan"), "replaced_batchnorm": False}
    return model.state_dict(), stats


def finetune_one(p: Params, data: TransferData, model_id: int, pretrained: dict,
                 subset_idx: np.ndarray, test_idx: np.ndarray,
                 device: torch.device) -> tuple[dict, dict]:
    """Finetune one pretrained model on its downstream subset; return (state dict, stats)."""
    t0 = time.perf_counter()
    model = build_model(p.model, data.image_shape, data.n_up_classes, data.vocab_size)
    model.load_state_dict(pretrained)
    model.to(device)
    model.replace_head(data.n_down_classes, torch_generator(p.base.seed, "ft-head", model_id))
    x, y = torch.from_numpy(data.down_x[subset_idx]), torch.from_numpy(data.down_y[subset_idx])
    res = finetune(model, x, y, p.finetune, torch_generator(p.base.seed, "finetune", model_id),
                   p.base.precision)
    model = res.model or model
    test = held_out(model, torch.from_numpy(data.down_x[test_idx]),
                    torch.from_numpy(data.down_y[test_idx]), y)
    stats = {"train_loss": res.final_loss, "train_accuracy": res.train_accuracy,
             **test, "seconds": time.perf_counter() - t0,
             "epsilon": res.epsilon, "replaced_batchnorm": res.replaced_batchnorm}
    return model.state_dict(), stats


def _device(p: Params, parallel: bool) -> torch.device:
    """Device for one training job; parallel workers use ``execution.threads_per_worker``."""
    from leakaudit.runtime import setup

    threads = p.execution.threads_per_worker if parallel else p.base.threads
    return setup(p.base.model_copy(update={"threads": threads}))


@functools.lru_cache(maxsize=2)
def _source(params_json: str) -> TransferData:
    """The data source, loaded once per worker process."""
    from leakaudit.data import load_source

    return load_source(Params.model_validate_json(params_json))


def pretrain_job(p: Params, model_id: int, train_idx: np.ndarray, test_idx: np.ndarray,
                 directory: str, fp: str, parallel: bool) -> dict:
    """Pretrain one model and write its directory (weights, config, marker last)."""
    data = _source(p.model_dump_json())
    state, st = pretrain_one(p, data, model_id, train_idx, test_idx, _device(p, parallel))
    store.save_model(directory, state, {"model_id": model_id, "fingerprint": fp,
                                        "stats": durable(st)}, fp)
    return st


def pretrain_group_job(p: Params, model_ids: list[int], train_idx: list[np.ndarray],
                       test_idx: np.ndarray, directories: list[str], fps: list[str]) -> list[dict]:
    """Pretrain a group of models at once as one batched ensemble and write each directory."""
    from leakaudit.ensemble import train_ensemble

    data = _source(p.model_dump_json())
    device = _device(p, parallel=False)
    t0 = time.perf_counter()
    models = [new_model(p, data, m).to(device) for m in model_ids]
    res = train_ensemble(
        models, [torch.from_numpy(data.up_x[i]) for i in train_idx],
        [torch.from_numpy(data.up_y[i]) for i in train_idx], p.pretrain,
        [torch_generator(p.base.seed, "pretrain", m) for m in model_ids],
    )
    seconds = (time.perf_counter() - t0) / len(model_ids)  # the group's time, shared out
    x_test, y_test = torch.from_numpy(data.up_x[test_idx]), torch.from_numpy(data.up_y[test_idx])
    out = []
    for m, model, r, d, fp, idx in zip(model_ids, models, res, directories, fps, train_idx,
                                       strict=True):
        st = {"train_loss": r["final_loss"], "train_accuracy": r["train_accuracy"],
              **held_out(model, x_test, y_test, torch.from_numpy(data.up_y[idx])),
              "seconds": seconds,
              "epsilon": float("nan"), "replaced_batchnorm": False}
        store.save_model(d, model.state_dict(), {"model_id": m, "fingerprint": fp,
                                                 "stats": durable(st)}, fp)
        out.append(st)
    return out


def finetune_job(p: Params, model_id: int, pre_dir: str, pre_fp: str, subset_idx: np.ndarray,
                 test_idx: np.ndarray, directory: str, fp: str, parallel: bool) -> dict:
    """Finetune one pretrained model and write its directory."""
    data = _source(p.model_dump_json())
    pre = store.load_model_state(pre_dir, pre_fp)
    state, st = finetune_one(p, data, model_id, pre, subset_idx, test_idx, _device(p, parallel))
    store.save_model(directory, state, {"model_id": model_id, "fingerprint": fp,
                                        "stats": durable(st)}, fp)
    return st


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
    model = build_model(p.model, data.image_shape, data.n_down_classes, data.vocab_size)
    if store.read_json(directory / "config.json")["stats"].get("replaced_batchnorm"):
        from leakaudit.dp import make_dp_compatible

        model, _ = make_dp_compatible(model)
    model.load_state_dict(store.load_model_state(directory))
    return model
