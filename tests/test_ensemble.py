"""A batched ensemble trains each model as it would be trained alone."""

import numpy as np
import pytest
import torch

from leakaudit.tmi.ensemble import train_ensemble
from leakaudit.tmi.models import build_model
from leakaudit.tmi.params import ModelParams, PretrainParams
from leakaudit.tmi.training import train


def _model(seed):
    torch.manual_seed(seed)
    return build_model(ModelParams(hidden=32, feature_dim=8), (1, 8, 8), 10)


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_batched_matches_one_by_one(schedule):
    r = np.random.default_rng(0)
    sizes = [40, 47, 33]  # different training-set sizes: padded, masked batches
    xs = [torch.from_numpy(r.normal(size=(n, 1, 8, 8)).astype(np.float32)) for n in sizes]
    ys = [torch.from_numpy(r.integers(0, 10, n)) for n in sizes]
    p = PretrainParams(epochs=5, batch_size=16, lr=1e-2, schedule=schedule, weight_decay=1e-4)
    alone = []
    for g in range(3):
        m = _model(g)
        train(m, xs[g], ys[g], p, torch.Generator().manual_seed(100 + g))
        alone.append(m.state_dict())
    models = [_model(g) for g in range(3)]
    stats = train_ensemble(models, xs, ys, p,
                           [torch.Generator().manual_seed(100 + g) for g in range(3)])
    for g in range(3):
        batched = models[g].state_dict()
        for k in alone[g]:  # tolerance: float reassociation in the vmapped kernels
            torch.testing.assert_close(batched[k], alone[g][k], atol=1e-5, rtol=1e-4)
        assert 0 <= stats[g]["train_accuracy"] <= 1


def test_only_adam_is_supported():
    with pytest.raises(ValueError, match="adam"):
        train_ensemble([_model(0)], [torch.zeros(4, 1, 8, 8)], [torch.zeros(4, dtype=torch.long)],
                       PretrainParams(optimizer="sgd"), [torch.Generator()])
