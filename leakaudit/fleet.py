"""Train a fleet of models one by one with resume: finished models (valid marker) are skipped."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from leakaudit import store
from leakaudit.config import Params
from leakaudit.data.transfer import TransferData
from leakaudit.models import TransferNet, build_model
from leakaudit.seeds import seed_sequence, torch_generator
from leakaudit.training import accuracy, finetune, train

# stats keys added after a model may have been trained (older config.json files lack them)
STATS_DEFAULTS: dict[str, Any] = {"epsilon": float("nan"), "replaced_batchnorm": False}


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (params sections, index lists, parent prints)."""
    blob = json.dumps([p.tolist() if isinstance(p, np.ndarray) else p for p in parts],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _seed_int(seed: int, purpose: str, *index: int) -> int:
    return int(seed_sequence(seed, purpose, *index).generate_state(1, np.uint64)[0] >> 1)


def new_model(p: Params, data: TransferData, model_id: int) -> TransferNet:
    """A freshly initialised upstream model (backbone init shared only if model.share_init)."""
    torch.manual_seed(_seed_int(p.base.seed, "init", 0 if p.model.share_init else model_id))
    model = build_model(p.model, data.image_shape, data.n_up_classes)
    if p.model.share_init:
        model.replace_head(data.n_up_classes, torch_generator(p.base.seed, "init-head", model_id))
    return model


def pretrain_one(p: Params, data: TransferData, model_id: int, train_idx: np.ndarray,
                 test_idx: np.ndarray, device: torch.device) -> tuple[dict, dict]:
    """Pretrain one model on its half of the pool; return (state dict, stats)."""
    t0 = time.perf_counter()
    model = new_model(p, data, model_id).to(device)
    x, y = torch.from_numpy(data.up_x[train_idx]), torch.from_numpy(data.up_y[train_idx])
    res = train(model, x, y, p.pretrain, torch_generator(p.base.seed, "pretrain", model_id))
    test_acc = accuracy(model, torch.from_numpy(data.up_x[test_idx]),
                        torch.from_numpy(data.up_y[test_idx]))
    stats = {"train_loss": res.final_loss, "train_accuracy": res.train_accuracy,
             "test_accuracy": test_acc, "seconds": time.perf_counter() - t0,
             "epsilon": float("nan"), "replaced_batchnorm": False}
    return model.state_dict(), stats


def finetune_one(p: Params, data: TransferData, model_id: int, pretrained: dict,
                 subset_idx: np.ndarray, test_idx: np.ndarray,
                 device: torch.device) -> tuple[dict, dict]:
    """Finetune one pretrained model on its downstream subset; return (state dict, stats)."""
    t0 = time.perf_counter()
    model = build_model(p.model, data.image_shape, data.n_up_classes)
    model.load_state_dict(pretrained)
    model.to(device)
    model.replace_head(data.n_down_classes, torch_generator(p.base.seed, "ft-head", model_id))
    x, y = torch.from_numpy(data.down_x[subset_idx]), torch.from_numpy(data.down_y[subset_idx])
    res = finetune(model, x, y, p.finetune, torch_generator(p.base.seed, "finetune", model_id))
    model = res.model or model
    test_acc = accuracy(model, torch.from_numpy(data.down_x[test_idx]),
                        torch.from_numpy(data.down_y[test_idx]))
    stats = {"train_loss": res.final_loss, "train_accuracy": res.train_accuracy,
             "test_accuracy": test_acc, "seconds": time.perf_counter() - t0,
             "epsilon": res.epsilon, "replaced_batchnorm": res.replaced_batchnorm}
    return model.state_dict(), stats


def run_fleet(
    root: Path, model_ids: list[int], prints: dict[int, str],
    train_one: Callable[[int], tuple[dict, dict]], label: str,
) -> dict[int, dict]:
    """Train every model whose directory lacks a matching completion marker; return stats.

    Models are written atomically (weights, config, then marker), so a killed run resumes
    here without redoing finished models or reading half-written files.
    """
    store.prune_models(root, keep=max(model_ids) + 1)
    stats: dict[int, dict] = {}
    todo = [m for m in model_ids if not store.is_done(store.model_dir(root, m), prints[m])]
    for m in set(model_ids) - set(todo):
        stats[m] = store.read_json(store.model_dir(root, m) / "config.json")["stats"]
    for m in tqdm(todo, desc=label, unit="model", mininterval=2.0):
        state, st = train_one(m)
        store.save_model(store.model_dir(root, m), state,
                         {"model_id": m, "fingerprint": prints[m], "stats": st}, prints[m])
        stats[m] = st
    return stats


def load_finetuned(p: Params, data: TransferData, directory: Path) -> TransferNet:
    """Rebuild a finetuned model from its directory (GroupNorm where DP replaced BatchNorm)."""
    model = build_model(p.model, data.image_shape, data.n_down_classes)
    if store.read_json(directory / "config.json")["stats"].get("replaced_batchnorm"):
        from leakaudit.dp import make_dp_compatible

        model, _ = make_dp_compatible(model)
    model.load_state_dict(store.load_model_state(directory))
    return model
