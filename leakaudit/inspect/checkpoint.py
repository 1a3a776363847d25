"""Open a checkpoint directory for inspection, from disk only (never a hub download) and
safetensors only (a pickled checkpoint is refused, never unpickled): this tool's classifier
format (``config.json`` with a ``kind`` + ``model.safetensors``) or a Hugging Face
``save_pretrained`` directory (GPT-2 / GPT-Neo causal LMs; BERT encoders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from leakaudit.core.store import CheckpointError, UnsafeCheckpointError, read_json

PICKLED = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5")
CAUSAL_LMS = ("gpt2", "gpt_neo")  # Hugging Face model_type → causal-LM signals
ENCODERS = ("bert",)  # weight signals only (no generic loss on an encoder)
FAMILIES = ("classifier", "causal_lm", "encoder")


@dataclass
class Checkpoint:
    """A loaded checkpoint: ``family`` says which signals apply; ``tokenizer`` for LMs."""

    path: Path
    family: str
    kind: str  # this tool's classifier kind, or the Hugging Face model_type
    model: torch.nn.Module
    config: dict
    tokenizer: Any = None

    def state(self) -> dict[str, torch.Tensor]:
        """Every weight tensor by name (for drift against a reference)."""
        return {k: v.detach().float() for k, v in self.model.state_dict().items()}


def _check_files(d: Path) -> None:
    if not d.is_dir():
        raise CheckpointError(f"{d}: not a local checkpoint directory (inspect-checkpoint "
                              "reads directories on disk only; it never downloads)")
    if not any(d.glob("*.safetensors")):
        pickled = sorted(p.name for p in d.iterdir() if p.suffix in PICKLED)
        raise UnsafeCheckpointError(
            f"{d}: no .safetensors weights"
            + (f" (found {pickled}: refusing to unpickle; convert to safetensors)"
               if pickled else ""))
    if not (d / "config.json").exists():
        raise CheckpointError(f"{d}: no config.json (not a checkpoint directory)")


def open_checkpoint(path: str | Path) -> Checkpoint:
    """The checkpoint at ``path``, in eval mode on the CPU."""
    d = Path(path)
    _check_files(d)
    config = read_json(d / "config.json")
    from leakaudit.backdoor.vision import model as classifier

    if config.get("kind") in classifier.BUILDERS:
        model, config = classifier.load(d)
        return Checkpoint(d, "classifier", config["kind"], model.eval(), config)
    model_type = config.get("model_type")
    if model_type in CAUSAL_LMS:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(d, use_safetensors=True,
                                                     local_files_only=True)
        return Checkpoint(d, "causal_lm", model_type, model.eval(), config, _tokenizer(d))
    if model_type in ENCODERS:
        from transformers import AutoModel

        model = AutoModel.from_pretrained(d, use_safetensors=True, local_files_only=True)
        return Checkpoint(d, "encoder", model_type, model.eval(), config)
    allowed = [*classifier.BUILDERS, *CAUSAL_LMS, *ENCODERS]
    raise CheckpointError(f"{d}/config.json: kind/model_type "
                          f"{config.get('kind') or model_type!r}; allowed: {allowed}")


def _tokenizer(d: Path):
    """The directory's fast tokenizer (``tokenizer.json``), or None."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(d / "tokenizer.json")) if (d / "tokenizer.json").exists() \
        else None
