"""One training loop for pretraining and finetuning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from leakaudit.tmi.data.views import augment
from leakaudit.tmi.dp import train_dp
from leakaudit.tmi.models import TransferNet
from leakaudit.tmi.params import FinetuneParams, PretrainParams
from leakaudit.tmi.utility import balanced_accuracy


@dataclass
class TrainResult:
    final_loss: float
    train_accuracy: float
    epsilon: float = float("nan")  # DP-SGD: ε spent (accountant), NaN without DP
    replaced_batchnorm: bool = False  # DP-SGD replaced trainable BatchNorm by GroupNorm
    model: nn.Module | None = None  # the trained model when DP had to rebuild it


def _optimizer(params, p: PretrainParams | FinetuneParams) -> torch.optim.Optimizer:
    if p.optimizer == "adam":
        return torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay)
    return torch.optim.SGD(params, lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, p: PretrainParams | FinetuneParams, steps: int):
    if p.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    if p.schedule == "step":  # the reference's StepLR(10, 0.9) per epoch
        per_epoch = max(1, steps // p.epochs)
        return torch.optim.lr_scheduler.StepLR(opt, step_size=10 * per_epoch, gamma=0.9)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


# training sets up to this size live on the GPU for the whole loop; larger ones are pinned
RESIDENT_BYTES = 2 * 2**30


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Put a training tensor where the loop wants it: on the GPU when it fits comfortably,
    else in pinned host memory (fast, asynchronous copies per batch)."""
    if device.type != "cuda":
        return t
    if t.numel() * t.element_size() <= RESIDENT_BYTES:
        return t.to(device)
    return t.pin_memory()


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    p: PretrainParams | FinetuneParams,
    generator: torch.Generator,
    trainable: list[nn.Parameter] | None = None,
    frozen_modules: list[nn.Module] | None = None,
    precision: str = "fp32",
) -> TrainResult:
    """Train ``model`` on (x, y) with minibatches drawn from ``generator``.

    ``trainable`` restricts the optimised parameters (linear probe); ``frozen_modules`` are kept
    in eval mode throughout (frozen BatchNorm statistics); ``precision="bf16"`` runs forward
    passes under bfloat16 autocast. Random draws stay on the CPU generator, so a seed gives the
    same batches on every device.
    """
    device = next(model.parameters()).device
    x, y = to_device(x, device), to_device(y, device)
    params = trainable if trainable is not None else [q for q in model.parameters()]
    opt = _optimizer(params, p)
    n = len(x)
    per_epoch = (n + p.batch_size - 1) // p.batch_size
    sched = _scheduler(opt, p, p.epochs * per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for m in frozen_modules or []:
        m.eval()
    total, seen = 0.0, 0
    for _ in range(p.epochs):
        order = torch.randperm(n, generator=generator)
        total, seen, correct = 0.0, 0, 0
        for b in range(per_epoch):
            idx = order[b * p.batch_size : (b + 1) * p.batch_size]
            xb = augment(x[idx.to(x.device)], p.augment, generator).to(device, non_blocking=True)
            yb = y[idx.to(y.device)].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = model(xb)
                loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
    return TrainResult(final_loss=total / max(1, seen), train_accuracy=correct / max(1, seen))


def backbone_blocks(backbone: nn.Module) -> list[nn.Module]:
    """The backbone's top-level modules that hold parameters, bottom to top."""
    return [m for m in backbone.children() if any(True for _ in m.parameters())]


def finetune(
    model: TransferNet, x: torch.Tensor, y: torch.Tensor, p: FinetuneParams,
    generator: torch.Generator, precision: str = "fp32",
) -> TrainResult:
    """Finetune with a fresh head: ``linear_probe`` (frozen backbone), ``last_k`` (the top k
    backbone blocks train too) or ``full``; with DP-SGD when ``p.dp.enabled``."""
    blocks = backbone_blocks(model.backbone)
    trainable_blocks = {"linear_probe": [], "last_k": blocks[-p.last_k:], "full": blocks}[p.mode]
    for q in model.backbone.parameters():
        q.requires_grad_(False)
    for block in trainable_blocks:
        for q in block.parameters():
            q.requires_grad_(True)
    # BatchNorm outside the trainable blocks: statistics adapt or stay frozen (always frozen
    # under DP, where mixing samples through batch statistics would break the guarantee)
    frozen_bn = p.batchnorm == "frozen" or p.dp.enabled
    frozen = [b for b in blocks if b not in trainable_blocks] if frozen_bn else []
    if p.mode == "linear_probe" and _features_fixed(model.backbone, p):
        # Nothing in the backbone changes during the probe: compute features once.
        feats = predict_logits(model.backbone, x)
        if p.dp.enabled:
            res = train_dp(model.head, feats, y, p, generator)
            return TrainResult(res.final_loss, res.train_accuracy, res.epsilon)
        return train(model.head, feats, y, p, generator, precision=precision)
    if p.dp.enabled:
        res = train_dp(model, x, y, p, generator, frozen)
        return TrainResult(res.final_loss, res.train_accuracy, res.epsilon,
                           res.replaced_batchnorm, res.model)
    params = [q for q in model.parameters() if q.requires_grad]
    return train(model, x, y, p, generator, params, frozen, precision)


def _features_fixed(backbone: nn.Module, p: FinetuneParams) -> bool:
    """True when a linear probe sees the same features every epoch: no augmentation, and no
    BatchNorm or dropout whose train-mode behaviour would change them."""
    a = p.augment
    if a.jitter_std > 0 or a.flip or a.crop_pad > 0 or a.token_mask > 0:
        return False
    if any(isinstance(m, nn.Dropout) and m.p > 0 for m in backbone.modules()):
        return False
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in backbone.modules())
    return not has_bn or p.batchnorm == "frozen" or p.dp.enabled


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Eval-mode logits for a batch of images (on the model's device, returned on CPU)."""
    device = next(model.parameters()).device
    model.eval()
    out = [model(x[i : i + batch_size].to(device)).float().cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


def held_out(model: nn.Module, x: torch.Tensor, y: torch.Tensor, train_y: torch.Tensor
             ) -> dict[str, float]:
    """Held-out accuracy and balanced accuracy of ``model``, and of the majority baseline
    (always the most common label of ``train_y``) on the same points."""
    y_true = y.numpy()
    pred = predict_logits(model, x).argmax(1).numpy()
    majority = np.full_like(y_true, np.bincount(train_y.numpy()).argmax())
    return {"test_accuracy": float((pred == y_true).mean()),
            "test_balanced_accuracy": balanced_accuracy(y_true, pred),
            "majority_test_accuracy": float((majority == y_true).mean()),
            "majority_test_balanced_accuracy": balanced_accuracy(y_true, majority)}
