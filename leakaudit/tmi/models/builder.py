"""Build a :class:`TransferNet` from ``model`` params and the data's image shape."""

from __future__ import annotations

import torch
from torch import nn

from leakaudit.core.nets import small_cnn
from leakaudit.tmi.models.mlp import mlp_backbone
from leakaudit.tmi.models.resnet import resnet_backbone
from leakaudit.tmi.models.transformer import TextEncoder
from leakaudit.tmi.params import ModelParams


class TransferNet(nn.Module):
    """A feature backbone and a replaceable linear head."""

    def __init__(self, backbone: nn.Module, feature_dim: int, n_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def replace_head(self, n_classes: int, generator: torch.Generator | None = None) -> None:
        """Swap in a fresh head for a new label space (seeded when a generator is given)."""
        head = nn.Linear(self.feature_dim, n_classes)
        if generator is not None:
            bound = 1.0 / self.feature_dim**0.5
            with torch.no_grad():
                head.weight.uniform_(-bound, bound, generator=generator)
                head.bias.uniform_(-bound, bound, generator=generator)
        self.head = head.to(next(self.backbone.parameters()).device)


def build_model(p: ModelParams, image_shape: tuple[int, ...], n_classes: int,
                vocab_size: int = 0) -> TransferNet:
    """Build the backbone named by ``p.arch`` with a head of ``n_classes``; for text
    (``transformer``) ``image_shape`` is (L,) and ``vocab_size`` the tokenizer's size. An
    import path names your own backbone factory (:mod:`leakaudit.core.plugins`)."""
    if ":" in p.arch:
        from leakaudit.core.plugins import resolve
        from leakaudit.tmi.params import BUILTIN_ARCHS

        backbone: nn.Module = resolve(p.arch, "model.arch", BUILTIN_ARCHS)(
            p, tuple(image_shape), vocab_size)
    elif p.arch == "transformer":
        if vocab_size <= 0:
            raise ValueError("model.arch 'transformer' needs token-id data (data.modality: text)")
        backbone = TextEncoder(vocab_size, image_shape[0], p.hidden, p.layers, p.heads,
                               p.feature_dim, p.pretrained)
    elif p.arch == "mlp":
        backbone = mlp_backbone(int(torch.tensor(image_shape).prod()), p.hidden, p.feature_dim)
    elif p.arch == "cnn":
        backbone = small_cnn(image_shape, p.hidden, p.feature_dim)
    else:
        backbone = resnet_backbone(image_shape[0], p.resnet_blocks, p.hidden, p.feature_dim)
    return TransferNet(backbone, p.feature_dim, n_classes)
