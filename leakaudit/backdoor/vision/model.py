"""The classifier audits' model operations: the vision audit's small CNN, the training loop,
per-example logits, calibration, and safetensors-only checkpoints (config.json +
model.safetensors) of any classifier kind (the text audit's encoder classifier is built by
:mod:`leakaudit.backdoor.text.model`). Every classifier is ``nn.Sequential(body, head)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from leakaudit.backdoor.batches import batches
from leakaudit.backdoor.finetuning import FINETUNE_RECORD, Anatomy, trainable
from leakaudit.core.nets import small_cnn
from leakaudit.core.store import (
    UnsafeCheckpointError,
    read_json,
    replace_dir,
    save_weights,
    write_json,
)

WEIGHTS = "model.safetensors"
IMAGE_SHAPE = (1, 28, 28)
# the victim modes' view of the classifier: the linear head; LoRA on every conv and linear layer
ANATOMY = Anatomy(head=lambda model: model[-1],
                  adapted=lambda name, module: isinstance(module, (nn.Conv2d, nn.Linear)))


def build(channels: int, feature_dim: int, n_classes: int = 10) -> nn.Sequential:
    """Small CNN backbone (see :func:`leakaudit.core.nets.small_cnn`) and a linear head."""
    return nn.Sequential(small_cnn(IMAGE_SHAPE, channels, feature_dim),
                         nn.Linear(feature_dim, n_classes))


def config_of(channels: int, feature_dim: int, n_classes: int = 10) -> dict:
    return {"kind": "small_cnn_classifier", "channels": channels, "feature_dim": feature_dim,
            "n_classes": n_classes, "image_shape": list(IMAGE_SHAPE)}


def save(model: nn.Module, config: dict, directory: Path, fingerprint: str,
         finetune: dict | None = None, records: dict[str, dict] | None = None) -> None:
    """Weights (safetensors), config (and how a victim was finetuned, and any other JSON
    ``records`` by file name), then the completion marker, written atomically
    (:func:`leakaudit.core.store.replace_dir`)."""

    def write(tmp: Path) -> None:
        save_weights(tmp / WEIGHTS, model.state_dict())
        write_json(tmp / "config.json", config)
        for name, record in {**(records or {}),
                             **({FINETUNE_RECORD: finetune} if finetune else {})}.items():
            write_json(tmp / name, record)

    replace_dir(directory, write, fingerprint)


def load(directory: str | Path) -> tuple[nn.Sequential, dict]:
    """(model, config) from a directory written by :func:`save`: safetensors only, a pickled
    checkpoint is refused and never unpickled."""
    from leakaudit.core.store import load_weights

    d = Path(directory)
    if not (d / WEIGHTS).exists():
        pickled = [p.name for p in d.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        raise UnsafeCheckpointError(
            f"cnn.checkpoint: {d} has no {WEIGHTS}"
            + (f" (found {pickled}: refusing to unpickle; convert to safetensors)" if pickled
               else ""))
    config = read_json(d / "config.json")
    if config.get("kind") not in BUILDERS:
        raise ValueError(f"cnn.checkpoint: {d}/config.json kind {config.get('kind')!r}; "
                         f"allowed: {', '.join(map(repr, BUILDERS))}")
    model = _builder(config["kind"])(config)
    model.load_state_dict(load_weights(d / WEIGHTS))
    return model, config


# every classifier kind a checkpoint may declare: its builder from the config (``module:name``
# where it lives in another audit's package, imported only when such a checkpoint is loaded)
BUILDERS = {"small_cnn_classifier": "leakaudit.backdoor.vision.model:from_config",
            "text_encoder_classifier": "leakaudit.backdoor.text.model:from_config"}


def _builder(kind: str):
    import importlib

    module, name = BUILDERS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def from_config(config: dict) -> nn.Sequential:
    """The small CNN a ``small_cnn_classifier`` config describes (untrained)."""
    return build(config["channels"], config["feature_dim"], config["n_classes"])


def fit(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int,
        lr: float, generator: torch.Generator, device: torch.device | str = "cpu",
        decay: bool = False) -> None:
    """Cross-entropy training with Adam on the trainable parameters (linear learning-rate decay
    to 0 when ``decay``)."""
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    opt = torch.optim.Adam(trainable(model), lr=lr)
    n_steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0 if decay else 1.0, max(1, n_steps))
    model.train()
    for idx in batches(len(x), batch_size, generator, epochs):
        idx = idx.to(device)
        loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


def example_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each example's cross-entropy [N] (DP-SGD clips per example)."""
    return nn.functional.cross_entropy(model(x), y, reduction="none")


@torch.no_grad()
def logits(model: nn.Module, x: np.ndarray, batch_size: int = 512,
           device: torch.device | str = "cpu") -> torch.Tensor:
    """Eval-mode logits [N, classes] on the CPU."""
    model.eval()
    out = [model(torch.from_numpy(x[i : i + batch_size]).to(device)).float().cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 10)


def loss_and_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray,
                      device: torch.device | str = "cpu") -> tuple[float, float]:
    """Mean cross-entropy and accuracy (stealth and utility)."""
    z = logits(model, x, device=device)
    yt = torch.from_numpy(y)
    return (float(nn.functional.cross_entropy(z, yt)),
            float((z.argmax(1) == yt).float().mean()))


def classifier_metrics(model: nn.Module, x: np.ndarray, y: np.ndarray,
                       device: torch.device | str = "cpu", bins: int = 15) -> dict[str, float]:
    """Mean cross-entropy (``loss``), ``accuracy`` and expected calibration error (``ece``:
    |accuracy − confidence| over ``bins`` equal-width confidence bins, weighted by their
    size) — what stealth compares."""
    z = logits(model, x, device=device)
    yt = torch.from_numpy(y)
    conf, pred = torch.softmax(z, 1).max(1)
    right = (pred == yt).double()
    which = torch.clamp((conf.double() * bins).long(), max=bins - 1)
    ece = sum(float((which == b).double().mean()
                    * (right[which == b].mean() - conf[which == b].double().mean()).abs())
              for b in range(bins) if bool((which == b).any()))
    return {"loss": float(nn.functional.cross_entropy(z, yt)),
            "accuracy": float(right.mean()), "ece": float(ece)}


def fold_temperature(model: nn.Sequential, x: np.ndarray, y: np.ndarray,
                     device: torch.device | str = "cpu") -> float:
    """Fit one softmax temperature on (x, y) by grid search on the NLL and fold it into the
    linear head (weights and bias divided by T): the same predictions, recalibrated
    confidence. Returns T."""
    z = logits(model, x, device=device)
    yt = torch.from_numpy(y)
    grid = torch.logspace(-1, 1, 81).tolist()  # T in [0.1, 10]
    nll = [float(nn.functional.cross_entropy(z / t, yt)) for t in grid]
    best = grid[int(np.argmin(nll))]
    head = model[-1]
    with torch.no_grad():
        head.weight.div_(best)
        head.bias.div_(best)
    return best
