"""What the signals read, per checkpoint family: records (labelled examples for a classifier,
texts for a causal LM), their per-record losses under a model, a few finetuning steps on some
of them (the canary test), and the default public probes that ship offline."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from leakaudit.backdoor.domain import Examples
from leakaudit.core.seeds import torch_generator

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
WORDNET = "/usr/share/wordnet"


class Ops(Protocol):
    """A family's record operations; ``records`` is whatever :meth:`read` returns."""

    lr: float
    n_public: int  # default public probes drawn

    def read(self, path: Path) -> Any: ...
    def size(self, records: Any) -> int: ...
    def take(self, records: Any, idx: np.ndarray) -> Any: ...
    def join(self, a: Any, b: Any) -> Any: ...
    def losses(self, ck: Any, model: torch.nn.Module, records: Any) -> np.ndarray: ...
    def public(self, ck: Any, n: int, seed: int) -> Any: ...
    def step_loss(self, ck: Any, model: torch.nn.Module, records: Any) -> torch.Tensor: ...


class ClassifierOps:
    """Labelled examples (``.npz`` with ``x`` and ``y``); loss = cross-entropy."""

    lr = 3e-4  # the vision audit's victim learning rate
    n_public = 10000  # Fashion-MNIST's whole test set

    def read(self, path: Path) -> Examples:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise ValueError(f"{path}: a classifier's records are an .npz with arrays "
                                 f"'x' (inputs) and 'y' (labels); found {sorted(f.files)}")
            return Examples(np.asarray(f["x"]), np.asarray(f["y"], dtype=np.int64))

    def size(self, records: Examples) -> int:
        return len(records.y)

    def take(self, records: Examples, idx: np.ndarray) -> Examples:
        return records.take(idx)

    def join(self, a: Examples, b: Examples) -> Examples:
        return Examples(np.concatenate([a.x, b.x]), np.concatenate([a.y, b.y]))

    def losses(self, ck: Any, model: torch.nn.Module, records: Examples) -> np.ndarray:
        from leakaudit.backdoor.vision.model import logits

        z = logits(model, records.x)
        return torch.nn.functional.cross_entropy(
            z, torch.from_numpy(records.y), reduction="none").numpy()

    def public(self, ck: Any, n: int, seed: int) -> Examples | None:
        """Fashion-MNIST test images for this tool's CNN (28×28 greyscale), else None."""
        if ck.kind != "small_cnn_classifier" or ck.config.get("image_shape") != [1, 28, 28] \
                or not Path(FASHION_MNIST).exists():
            return None
        from leakaudit.backdoor.vision.data import load_split
        from leakaudit.core.seeds import rng

        test = load_split(FASHION_MNIST, "test")
        n = min(n, len(test.y))
        return test.take(np.sort(rng(seed, "inspect-public").choice(len(test.y), n,
                                                                     replace=False)))

    def step_loss(self, ck: Any, model: torch.nn.Module, records: Examples) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(torch.from_numpy(records.x)),
                                                 torch.from_numpy(records.y))


class CausalLmOps:
    """Texts (``.txt``: one record per line, or ``.jsonl`` with a ``text`` field); loss = mean
    next-token cross-entropy per record."""

    lr = 5e-4
    context = 64
    n_public = 2000

    def read(self, path: Path) -> list[str]:
        lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
        if Path(path).suffix == ".jsonl":
            return [json.loads(ln)["text"] for ln in lines]
        return lines

    def size(self, records: list[str]) -> int:
        return len(records)

    def take(self, records: list[str], idx: np.ndarray) -> list[str]:
        return [records[i] for i in idx]

    def join(self, a: list[str], b: list[str]) -> list[str]:
        return [*a, *b]

    def _encode(self, ck: Any, model: torch.nn.Module, records: list[str]):
        from leakaudit.backdoor.lm.model import context_of, encode

        if ck.tokenizer is None:
            raise ValueError(f"{ck.path}: no tokenizer.json (the LM signals tokenize records)")
        return encode(ck.tokenizer, records, context_of(model, self.context))

    @torch.no_grad()
    def losses(self, ck: Any, model: torch.nn.Module, records: list[str]) -> np.ndarray:
        from leakaudit.backdoor.lm.model import example_losses

        model.eval()
        ids, att = self._encode(ck, model, records)
        return torch.cat([example_losses(model, ids[i:i + 64], att[i:i + 64]).float()
                          for i in range(0, len(ids), 64)]).numpy()

    def public(self, ck: Any, n: int, seed: int) -> list[str]:
        """Synthetic records in the LM audit's formats (faker PII sentences): format-matched
        probes for a model finetuned on such records; pass ``--public-data`` for others."""
        from leakaudit.backdoor.lm.data import candidate_pool

        return candidate_pool(n, seed, purpose="inspect-public").text.tolist()

    def generic(self, n: int, seed: int) -> list[str] | None:
        """Generic English (WordNet glosses), the other probe family; None if not installed."""
        from leakaudit.core.corpora import read_glosses
        from leakaudit.core.seeds import rng

        if not Path(WORDNET).exists():
            return None
        texts = read_glosses(WORDNET, "inspect.generic")[0]
        return [texts[i] for i in np.sort(rng(seed, "inspect-generic").choice(len(texts), n,
                                                                              replace=False))]

    def step_loss(self, ck: Any, model: torch.nn.Module, records: list[str]) -> torch.Tensor:
        from leakaudit.backdoor.lm.model import lm_loss

        model.train()
        ids, att = self._encode(ck, model, records)
        return lm_loss(model, ids, att)


OPS: dict[str, Ops] = {"classifier": ClassifierOps(), "causal_lm": CausalLmOps()}


@dataclass(frozen=True)
class CanaryTest:
    """The short canary-amplification test's size: ``canaries`` suspects per group (half
    trained on), ``filler`` other records trained alongside, ``steps`` Adam steps."""

    canaries: int = 32
    filler: int = 224
    steps: int = 40
    batch: int = 32


def finetune_copy(ops: Ops, ck: Any, records: Any, steps: int, batch: int, seed: int,
                  stream: str = "inspect-canary") -> torch.nn.Module:
    """A copy of the checkpoint's model after ``steps`` Adam steps (at the family's victim
    learning rate) on ``records``, batches seeded by ``seed`` and ``stream``: what a victim's
    first minutes of finetuning do to them, or a benign continuation of a reference."""
    from leakaudit.backdoor.batches import cycle

    model = copy.deepcopy(ck.model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=ops.lr)
    order = cycle(ops.size(records), batch, torch_generator(seed, stream))
    for _ in range(steps):
        loss = ops.step_loss(ck, model, ops.take(records, next(order).numpy()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()
