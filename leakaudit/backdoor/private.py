"""DP-SGD for a backdoor audit's victims (``victims.dp``): Opacus, Poisson-sampled batches,
per-example clipping to ``max_grad_norm`` and Gaussian noise the accountant calibrates to the
target (ε, δ) over the victim's epochs; the ε it spent is recorded per victim.

BatchNorm mixes the examples of a batch, which DP-SGD cannot account for: its layers stay in
eval mode and do not train (their running statistics and affine weights are the released
checkpoint's), so a DP victim trains every other weight its mode allows. Each victim's noise
and batches come from its seeded generator: both arms draw the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader, TensorDataset

from leakaudit.backdoor.finetuning import trainable
from leakaudit.core.params import DpParams

# per-example losses [B] of a batch of the dataset's tensors
ExampleLoss = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class PrivateTraining:
    """What a DP victim's record keeps: the claim and the accountant's figures."""

    epsilon_target: float
    epsilon_spent: float
    delta: float
    noise_multiplier: float
    max_grad_norm: float
    steps: int
    frozen_batchnorm: int

    def record(self) -> dict[str, float | int]:
        return asdict(self)


def freeze_batchnorm(net: nn.Module) -> list[nn.Module]:
    """Stop every BatchNorm layer training (no gradients); the caller keeps them in eval."""
    norms = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    for m in norms:
        for q in m.parameters():
            q.requires_grad_(False)
    return norms


def train_private(net: nn.Module, tensors: tuple[torch.Tensor, ...], example_loss: ExampleLoss,
                  epochs: int, batch_size: int, lr: float, dp: DpParams,
                  generator: torch.Generator, device: torch.device | str = "cpu"
                  ) -> PrivateTraining:
    """Train ``net``'s trainable parameters with Adam under DP-SGD to ``dp``'s (ε, δ);
    ``example_loss(module, *batch)`` gives per-example losses (their mean is minimised)."""
    from opacus import PrivacyEngine

    norms = freeze_batchnorm(net)
    loader = DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=True,
                        generator=generator)
    noise = torch.Generator(device=device)
    noise.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
    opt = torch.optim.Adam(list(trainable(net)), lr=lr)
    net.train()
    engine = PrivacyEngine(accountant=dp.accountant)
    private, opt, loader = engine.make_private_with_epsilon(
        module=net, optimizer=opt, data_loader=loader, target_epsilon=dp.epsilon,
        target_delta=dp.delta, epochs=epochs, max_grad_norm=dp.max_grad_norm,
        noise_generator=noise)
    steps = 0
    for _ in range(epochs):
        private.train()
        for m in norms:
            m.eval()
        for batch in loader:
            if len(batch[0]) == 0:  # Poisson sampling can draw an empty batch
                continue
            loss = example_loss(private, *(t.to(device) for t in batch)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
    private.remove_hooks()  # ``net`` is trained in place; the caller saves it
    opt.zero_grad(set_to_none=True)  # also drops the per-example gradients
    return PrivateTraining(dp.epsilon, float(engine.get_epsilon(dp.delta)), dp.delta,
                           float(opt.noise_multiplier), dp.max_grad_norm, steps, len(norms))

