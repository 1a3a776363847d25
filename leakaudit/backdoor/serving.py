"""How the finetuned model is served to the attacker, applied identically to both arms:
weight quantisation of every convolution and linear layer (``score.quantise``).

Quantisation here is quantise → dequantise of each weight, per output channel, symmetric,
round to nearest (scale = max |w| / (2^(bits−1) − 1)): the outputs an int8 or int4 server
computes, up to its accumulation order. It covers ``nn.Linear``, ``nn.Conv1d/2d/3d`` and
GPT-2's ``Conv1D``: ``torch.ao``'s dynamic quantisation converts ``nn.Linear`` only (a CNN's
convolutions, GPT-2's projections stay fp32), which would make "quantisation changes
nothing" an artefact. Biases, norms and embeddings stay in full precision, except an output
embedding tied to a quantised ``lm_head`` (one tensor).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

BITS = {"none": None, "int8": 8, "int4": 4}


def _out_dim(module: nn.Module) -> int | None:
    """The weight's output-channel dimension, or None for a layer that is not quantised."""
    from transformers.pytorch_utils import Conv1D

    if isinstance(module, Conv1D):  # weight [in, out]
        return 1
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return 0
    return None


@torch.no_grad()
def fake_quantise(weight: torch.Tensor, bits: int, out_dim: int = 0) -> torch.Tensor:
    """``weight`` rounded to ``bits``-bit integers per output channel and scaled back."""
    levels = 2 ** (bits - 1) - 1
    reduce = [d for d in range(weight.dim()) if d != out_dim]
    scale = weight.abs().amax(dim=reduce, keepdim=True).clamp_min(1e-12) / levels
    return (weight / scale).round().clamp(-levels, levels) * scale


@torch.no_grad()
def quantise(model: nn.Module, setting: str) -> list[str]:
    """Quantise ``model``'s convolution and linear weights in place (``setting``: a
    :data:`BITS` key); returns the names of the layers quantised (none for ``"none"``)."""
    bits = BITS[setting]
    if bits is None:
        return []
    done, seen = [], set()
    for name, module in model.named_modules():
        dim = _out_dim(module)
        if dim is None or id(module.weight) in seen:
            continue
        seen.add(id(module.weight))
        module.weight.copy_(fake_quantise(module.weight, bits, dim))
        done.append(name)
    return done


def record_serving(setting: str, served: list[list[str]], path: str | Path) -> dict[str, float]:
    """Write which layers were quantised (``path``: JSON; the same layers on every model
    scored, else an error naming the setting) and return the score stage's metrics."""
    from leakaudit.core.store import write_json

    layers = served[0] if served else []
    if any(names != layers for names in served):
        raise ValueError(f"score.quantise: {setting!r} quantised different layers on different "
                         "models of one audit (every model must share one architecture)")
    write_json(path, {"quantise": setting, "bits": BITS[setting], "layers": layers})
    return {"quantised_layers": float(len(layers))}
