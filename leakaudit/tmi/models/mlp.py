"""A two-layer MLP backbone with a narrow feature layer."""

from torch import nn


def mlp_backbone(n_in: int, hidden: int, feature_dim: int) -> nn.Module:
    """flatten → n_in→hidden → ReLU → hidden→feature_dim → ReLU."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, feature_dim), nn.ReLU()
    )
