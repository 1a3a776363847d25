"""What decides a TMI model's weights: building, pretraining and finetuning one model (or a
batched group) from its params and its data. Nothing here writes files (:mod:`.fleet` does).

A trained model's fingerprint hashes this module's import closure
(:func:`leakaudit.tmi.fleet.code_digest`), so an edit to any code that can change the weights
retrains, and an edit to anything else does not: keep what only moves or logs models out of it.
"""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
import torch

from leakaudit.core.seeds import seed_int, torch_generator
from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.models import TransferNet, build_model
from leakaudit.tmi.params import Params
from leakaudit.tmi.training import finetune, held_out, train

_INIT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _source(params_json: str) -> TransferData:
    from leakaudit.tmi.data import load_source

    return load_source(Params.model_validate_json(params_json))


def source(p: Params) -> TransferData:
    """The data source, loaded once per worker process."""
    return _source(p.model_dump_json())


def device(p: Params, parallel: bool) -> torch.device:
    """Device for one training job; parallel workers use ``execution.threads_per_worker``."""
    from leakaudit.core.runtime import setup

    threads = p.execution.threads_per_worker if parallel else p.base.threads
    return setup(p.base.model_copy(update={"threads": threads}))


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
        from leakaudit.tmi.mlm import train_mlm

        res = train_mlm(model.backbone, x, p.pretrain, gen, precision=p.base.precision)
    else:
        res = train(model, x, y, p.pretrain, gen, precision=p.base.precision)
    test = held_out(model, torch.from_numpy(data.up_x[test_idx]),
                    torch.from_numpy(data.up_y[test_idx]), y)
    stats = {"train_loss": res.final_loss, "train_accuracy": res.train_accuracy,
             **test, "seconds": time.perf_counter() - t0,
             "epsilon": float("nan"), "replaced_batchnorm": False}
    return model.state_dict(), stats


def pretrain_group(p: Params, data: TransferData, model_ids: list[int],
                   train_idx: list[np.ndarray], test_idx: np.ndarray, device: torch.device
                   ) -> list[tuple[dict, dict]]:
    """Pretrain a group of models at once as one batched ensemble: (state dict, stats) each."""
    from leakaudit.tmi.ensemble import train_ensemble

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
    for model, r, idx in zip(models, res, train_idx, strict=True):
        st = {"train_loss": r["final_loss"], "train_accuracy": r["train_accuracy"],
              **held_out(model, x_test, y_test, torch.from_numpy(data.up_y[idx])),
              "seconds": seconds, "epsilon": float("nan"), "replaced_batchnorm": False}
        out.append((model.state_dict(), st))
    return out


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


def finetuned_model(p: Params, data: TransferData, replaced_batchnorm: bool) -> TransferNet:
    """An empty finetuned model of the audit's architecture (GroupNorm where DP replaced
    BatchNorm), to load a finetuned state into."""
    model = build_model(p.model, data.image_shape, data.n_down_classes, data.vocab_size)
    if replaced_batchnorm:
        from leakaudit.tmi.dp import make_dp_compatible

        model, _ = make_dp_compatible(model)
    return model
