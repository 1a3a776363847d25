"""A CIFAR-style ResNet backbone (BasicBlocks; [2,2,2,2] = ResNet-18, [3,4,6,3] = ResNet-34)."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet_backbone(c_in: int, blocks: list[int], width: int, feature_dim: int) -> nn.Module:
    """Stem, four stages of BasicBlocks (width, 2w, 4w, 8w), global pool, projection."""
    base = max(8, width // 4)
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, base, 3, 1, 1, bias=False), nn.BatchNorm2d(base), nn.ReLU()
    ]
    c = base
    for stage, n in enumerate(blocks):
        c_out = base * 2**stage
        for i in range(n):
            layers.append(BasicBlock(c, c_out, 2 if (i == 0 and stage > 0) else 1))
            c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if feature_dim != c:
        layers += [nn.Linear(c, feature_dim), nn.ReLU()]
    return nn.Sequential(*layers)
