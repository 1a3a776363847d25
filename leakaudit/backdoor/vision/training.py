"""The vision audit's poisoning loop and the calibration hold-out (the CNN's plain training loop
is :func:`leakaudit.backdoor.vision.model.fit`). ``p`` is the poison section."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from leakaudit.backdoor.batches import cycle
from leakaudit.backdoor.objective import poison_loss
from leakaudit.backdoor.vision.data import Images
from leakaudit.core.progress import progress
from leakaudit.core.seeds import torch_generator


def poison(model: nn.Module, aux: tuple, targets: tuple, steps: int, alpha: float, p: Any,
           seed: int, device: torch.device | str = "cpu", streams: str = "vision") -> None:
    """Adam on mixed batches: one forward over aux + target examples (shared BatchNorm
    statistics), the two cross-entropies combined by :func:`poison_loss`; ``streams`` names
    the batch orders' random streams."""
    ax, ay = (torch.from_numpy(a).to(device) for a in aux)
    tx, ty = (torch.from_numpy(a).to(device) for a in targets)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    a_it = cycle(len(ax), p.aux_batch, torch_generator(seed, f"{streams}-poison-aux"))
    t_it = cycle(len(tx), p.target_batch, torch_generator(seed, f"{streams}-poison-targets"))
    model.train()
    for _ in progress(range(steps), f"poison (α={alpha:g})", "step"):
        ai, ti = next(a_it).to(device), next(t_it).to(device)
        if alpha > 0:
            out = model(torch.cat([ax[ai], tx[ti]]))
            a_loss = nn.functional.cross_entropy(out[: len(ai)], ay[ai])
            t_loss = nn.functional.cross_entropy(out[len(ai):], ty[ti], reduction="none")
        else:
            a_loss, t_loss = nn.functional.cross_entropy(model(ax[ai]), ay[ai]), torch.zeros(())
        loss = poison_loss(a_loss, t_loss, alpha, p.variant, p.bound)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def calibration_split(aux: Images, p: Any) -> tuple[Images, Images | None]:
    """(poisoning images, temperature-fitting images): with ``calibrate`` the last
    ``calibration_images`` aux images are held out of poisoning (both arms alike)."""
    if not p.calibrate:
        return aux, None
    n = p.calibration_images
    if n >= len(aux.y):
        raise ValueError(f"poison.calibration_images: got {n}; allowed: < images.aux "
                         f"({len(aux.y)})")
    return aux.take(np.arange(len(aux.y) - n)), aux.take(np.arange(len(aux.y) - n, len(aux.y)))
