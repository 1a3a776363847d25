"""A small CNN backbone (two conv blocks with BatchNorm) for 28×28-scale images, shared by the
TMI audit's `cnn` arch and the vision backdoor's classifier."""

from torch import nn


def small_cnn(image_shape: tuple[int, ...], channels: int, feature_dim: int) -> nn.Module:
    """conv-BN-ReLU-pool ×2 → flatten → Linear → feature_dim → ReLU."""
    c, h, w = image_shape
    c1, c2 = max(1, channels // 8), max(1, channels // 4)
    return nn.Sequential(
        nn.Conv2d(c, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), feature_dim), nn.ReLU(),
    )
