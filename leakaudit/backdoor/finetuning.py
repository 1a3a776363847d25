"""How a victim finetunes the checkpoint it downloaded (``victims.mode``), the paper's three
regimes:

- ``full``: every weight;
- ``lora``: low-rank adapters (``peft``) on the layers the pipeline names, merged back into the
  weights before saving (a finetuned victim is always a plain checkpoint of the base format);
- ``head_only``: the output layer alone on a frozen backbone, which stays in eval mode while
  the head trains (BatchNorm statistics and dropout unchanged: linear probing).

Each pipeline describes its model once (:class:`Anatomy`); the modes are objects
(:data:`MODES`), looked up by the validated name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from torch import nn

FINETUNE_RECORD = "finetune.json"  # in each victim's folder: its mode and trainable parameters


@dataclass(frozen=True)
class Anatomy:
    """What the modes need to know of a model: its output layer (``head``), which layers LoRA
    adapts (``adapted(name, module)``) and how to make the head trainable on its own
    (``detach_head``: e.g. untie GPT-2's output embedding from its input embedding)."""

    head: Callable[[nn.Module], nn.Module]
    adapted: Callable[[str, nn.Module], bool]
    detach_head: Callable[[nn.Module], None] = field(default=lambda model: None)


class Mode:
    """A finetuning regime: :meth:`wrap` gives the module to train (its trainable parameters
    are what the optimiser updates), :meth:`unwrap` the plain model to save."""

    name = "full"

    def wrap(self, model: nn.Module, anatomy: Anatomy, p: Any) -> nn.Module:
        return model

    def unwrap(self, trained: nn.Module) -> nn.Module:
        return trained


class Full(Mode):
    """Every weight trains."""


class _FrozenBackbone(nn.Module):
    """``model`` with gradients only on ``head``; the rest stays in eval mode when trained."""

    def __init__(self, model: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.model = model
        self._head = [head]  # a list: not registered twice as a submodule

    def train(self, mode: bool = True) -> _FrozenBackbone:
        self.training = mode
        self.model.eval()
        self._head[0].train(mode)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)


class HeadOnly(Mode):
    """The output layer alone; the backbone is frozen (no gradients, eval mode)."""

    name = "head_only"

    def wrap(self, model: nn.Module, anatomy: Anatomy, p: Any) -> nn.Module:
        anatomy.detach_head(model)
        head = anatomy.head(model)
        for param in model.parameters():
            param.requires_grad_(False)
        for param in head.parameters():
            param.requires_grad_(True)
        return _FrozenBackbone(model, head)

    def unwrap(self, trained: nn.Module) -> nn.Module:
        model = trained.model
        for param in model.parameters():
            param.requires_grad_(True)
        return model


class LoRA(Mode):
    """Rank-``lora_rank`` adapters (scale ``lora_alpha / lora_rank``, no dropout) on every
    layer the anatomy adapts; the rest frozen. Merged into the weights by :meth:`unwrap`."""

    name = "lora"

    def wrap(self, model: nn.Module, anatomy: Anatomy, p: Any) -> nn.Module:
        from peft import LoraConfig, get_peft_model
        from transformers.pytorch_utils import Conv1D

        names = adapted_layers(model, anatomy)
        if not names:
            raise ValueError("victims.mode: lora found no layer to adapt in this model")
        modules = dict(model.named_modules())
        config = LoraConfig(
            r=p.lora_rank, lora_alpha=p.lora_alpha, lora_dropout=0.0, bias="none",
            target_modules="^(" + "|".join(map(re.escape, names)) + ")$",
            # GPT-2's Conv1D stores weights as [in, out]
            fan_in_fan_out=any(isinstance(modules[n], Conv1D) for n in names),
            init_lora_weights=True)
        return get_peft_model(model, config)

    def unwrap(self, trained: nn.Module) -> nn.Module:
        model = trained.merge_and_unload()
        for param in model.parameters():
            param.requires_grad_(True)
        return model


MODES: dict[str, Mode] = {m.name: m for m in (Full(), LoRA(), HeadOnly())}


def victim_recipe(victims: Any) -> dict:
    """What a victim's training depends on in the victims section, for its fingerprint: its
    membership design is in its member list, and DP settings count only when DP is on."""
    recipe = victims.model_dump(exclude={"membership", "dp"})
    return recipe | ({"dp": victims.dp.model_dump()} if victims.dp.enabled else {})


def adapted_layers(model: nn.Module, anatomy: Anatomy) -> list[str]:
    """The qualified names of the layers LoRA adapts."""
    return [name for name, module in model.named_modules() if anatomy.adapted(name, module)]


def trainable_parameters(model: nn.Module) -> int:
    """How many parameters the optimiser updates."""
    return sum(param.numel() for param in model.parameters() if param.requires_grad)


def trainable(model: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters an optimiser should update."""
    return (param for param in model.parameters() if param.requires_grad)
