"""A causal LM as the victim finetuning modes see it (:mod:`leakaudit.backdoor.finetuning`):
the output layer is the head (untied from the input embedding for head-only finetuning), and
LoRA adapts every linear projection of the transformer blocks."""

from __future__ import annotations

from torch import nn

from leakaudit.backdoor.finetuning import Anatomy


def untie_output(model) -> None:
    """Give the output layer its own copy of a tied input embedding (saved as its own tensor),
    so training the head leaves the input embedding as it was."""
    out, emb = model.get_output_embeddings(), model.get_input_embeddings()
    if out.weight is emb.weight:
        out.weight = nn.Parameter(out.weight.detach().clone())
    model.config.tie_word_embeddings = False


def _adapted(name: str, module: nn.Module) -> bool:
    """GPT-2's ``Conv1D`` c_attn / c_proj / c_fc, GPT-Neo's q/k/v/out_proj, c_fc, c_proj:
    every linear layer but the output layer."""
    from transformers.pytorch_utils import Conv1D

    return isinstance(module, (nn.Linear, Conv1D)) and name.rsplit(".", 1)[-1] != "lm_head"


ANATOMY = Anatomy(head=lambda model: model.get_output_embeddings(), adapted=_adapted,
                  detach_head=untie_output)
