"""Is the audited model useful? Balanced accuracy, and the warning every audit prints when a
finetuned model is at chance next to its majority baseline (its leakage numbers then describe a
degenerate model, not the threat an audit is about). The held-out measurement itself is
:func:`leakaudit.tmi.training.held_out`."""

from __future__ import annotations

import numpy as np


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of the recall of each."""
    return float(np.mean([(y_pred[y_true == c] == c).mean() for c in np.unique(y_true)]))


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
