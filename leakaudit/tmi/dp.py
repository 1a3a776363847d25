"""DP-SGD finetuning with Opacus: per-sample clipping, noise calibrated to a target ε.

DP protects the *finetuning* data. BatchNorm mixes samples, so under DP it cannot adapt: frozen
parts keep their statistics in eval mode, and trainable BatchNorm layers are replaced by
GroupNorm (Opacus' ModuleValidator.fix), which the stats record.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from leakaudit.tmi.data.views import augment
from leakaudit.tmi.params import FinetuneParams


@dataclass
class DpResult:
    final_loss: float
    train_accuracy: float
    epsilon: float
    replaced_batchnorm: bool
    model: nn.Module


def make_dp_compatible(module: nn.Module) -> tuple[nn.Module, bool]:
    """Replace layers Opacus cannot train privately (BatchNorm → GroupNorm) where needed."""
    from opacus.validators import ModuleValidator

    if ModuleValidator.validate(module, strict=False):
        return ModuleValidator.fix(module), True
    return module, False


def train_dp(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, p: FinetuneParams,
    generator: torch.Generator, frozen_modules: list[nn.Module] | None = None,
) -> DpResult:
    """Train ``module``'s trainable parameters with DP-SGD to the target (ε, δ)."""
    from opacus import PrivacyEngine

    module, replaced = make_dp_compatible(module)
    device = next(module.parameters()).device
    params = [q for q in module.parameters() if q.requires_grad]
    opt = (torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay) if p.optimizer == "adam"
           else torch.optim.SGD(params, lr=p.lr, momentum=p.momentum,
                                weight_decay=p.weight_decay))
    loader = DataLoader(TensorDataset(x, y), batch_size=p.batch_size, shuffle=True,
                        generator=generator)
    noise = torch.Generator(device=device)
    noise.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
    engine = PrivacyEngine(accountant=p.dp.accountant)
    private, opt, loader = engine.make_private_with_epsilon(
        module=module, optimizer=opt, data_loader=loader, target_epsilon=p.dp.epsilon,
        target_delta=p.dp.delta, epochs=p.epochs, max_grad_norm=p.dp.max_grad_norm,
        noise_generator=noise,
    )
    loss_fn = nn.CrossEntropyLoss()
    total, seen, correct = 0.0, 0, 0
    for _ in range(p.epochs):
        private.train()
        for m in frozen_modules or []:
            m.eval()
        total, seen, correct = 0.0, 0, 0
        for xb, yb in loader:
            if len(xb) == 0:  # Poisson sampling can draw an empty batch
                continue
            xb = augment(xb, p.augment, generator).to(device)
            yb = yb.to(device)
            logits = private(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            seen += len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
    return DpResult(total / max(1, seen), correct / max(1, seen),
                    float(engine.get_epsilon(p.dp.delta)), replaced, module)
