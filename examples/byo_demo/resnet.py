"""A torchvision-style ResNet backbone for ``model.arch: byo_demo.resnet:backbone``.

The factory contract (:mod:`leakaudit.core.plugins`): ``backbone(p, input_shape, vocab_size)``
returns a module mapping N×C×H×W images to N × ``p.feature_dim`` features; the audit adds
the replaceable head. ``p.hidden`` is the stem width and ``p.resnet_blocks`` the blocks per
stage, as for the built-in ResNet.
"""

from __future__ import annotations

from torch import nn


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and a (projected) identity shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return nn.functional.relu(self.body(x) + self.skip(x))


def backbone(p, input_shape: tuple[int, ...], vocab_size: int) -> nn.Module:
    """Stem, one stage per entry of ``p.resnet_blocks`` (width doubling, stride 2 after the
    first), global average pooling and a linear map to ``p.feature_dim`` features."""
    if vocab_size:
        raise ValueError("byo_demo.resnet is an image backbone (data.modality: image)")
    width, layers = p.hidden, [nn.Conv2d(input_shape[0], p.hidden, 3, 1, 1, bias=False),
                               nn.BatchNorm2d(p.hidden), nn.ReLU()]
    for i, n in enumerate(p.resnet_blocks):
        out = p.hidden * 2**i
        for j in range(n):
            layers.append(BasicBlock(width, out, 2 if i and not j else 1))
            width = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, p.feature_dim)]
    return nn.Sequential(*layers)
