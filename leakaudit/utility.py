"""Is the audited model useful? Held-out accuracy and balanced accuracy next to the majority
baseline, and the warning every audit prints when a finetuned model is at chance (its leakage
numbers then describe a degenerate model, not the threat an audit is about)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

MIN_GAIN = 0.15  # evaluate.min_downstream_gain's default


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of the recall of each."""
    return float(np.mean([(y_pred[y_true == c] == c).mean() for c in np.unique(y_true)]))


def held_out(model: nn.Module, x: torch.Tensor, y: torch.Tensor, train_y: torch.Tensor
             ) -> dict[str, float]:
    """Held-out accuracy and balanced accuracy of ``model``, and of the majority baseline
    (always the most common label of ``train_y``) on the same points."""
    from leakaudit.training import predict_logits

    y_true = y.numpy()
    pred = predict_logits(model, x).argmax(1).numpy()
    majority = np.full_like(y_true, np.bincount(train_y.numpy()).argmax())
    return {"test_accuracy": float((pred == y_true).mean()),
            "test_balanced_accuracy": balanced_accuracy(y_true, pred),
            "majority_test_accuracy": float((majority == y_true).mean()),
            "majority_test_balanced_accuracy": balanced_accuracy(y_true, majority)}


def downstream_warning(utility: dict[str, float], min_gain: float) -> str | None:
    """The warning for a finetuned model whose mean balanced accuracy is less than
    ``min_gain`` above its majority baseline's (``utility`` as in metrics.json); None if
    useful or not measured."""
    bal = utility.get("finetune_test_balanced_accuracy")
    base = utility.get("finetune_majority_test_balanced_accuracy")
    if bal is None or base is None or bal - base >= min_gain:
        return None
    return (f"the finetuned model is at chance — leakage numbers describe a degenerate model: "
            f"held-out balanced accuracy {bal:.3f} is {bal - base:+.3f} over the majority "
            f"baseline's {base:.3f} (evaluate.min_downstream_gain: {min_gain:g})")
