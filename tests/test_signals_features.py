import numpy as np
import torch

from leakaudit.tmi.attacks.features import scaled_logodds
from leakaudit.tmi.signals import logodds_from_logits, logodds_from_probs, signal_rows, to_arrays


def test_logodds_stable_matches_naive():
    z = torch.randn(6, 5, dtype=torch.float64)
    p = torch.softmax(z, -1)
    naive = torch.log(p) - torch.log(1 - p)
    assert torch.allclose(logodds_from_logits(z), naive, atol=1e-9)
    assert torch.allclose(logodds_from_probs(p).double(), naive, atol=1e-5)


def test_logodds_finite_for_confident_logits():
    z = torch.tensor([[80.0, 0.0, -5.0]], dtype=torch.float64)
    s = logodds_from_logits(z)
    assert torch.isfinite(s).all() and s[0, 0] > 70


def test_scaled_logodds_clips_norm_and_keeps_small_vectors():
    s = np.array([[3.0, 4.0], [0.3, 0.4]], dtype=np.float32)
    u = scaled_logodds(s)
    assert np.allclose(u[0], [0.6, 0.8]) and np.allclose(u[1], s[1])


def test_signal_rows_roundtrip_to_arrays():
    logits = torch.randn(3, 4, 5)  # views × points × classes
    df = signal_rows(7, np.array([10, 11, 12, 13]), logits)
    arr = to_arrays(df)
    assert arr.probs.shape == (1, 4, 3, 5)
    assert np.allclose(arr.probs[0, 2, 1], torch.softmax(logits[1, 2].double(), -1).numpy(),
                       atol=1e-6)
    assert list(arr.point_ids) == [10, 11, 12, 13]
