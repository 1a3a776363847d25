"""The inspection signals as pure functions over per-record losses and weights. Each compares
the user's own records with format-matched public probes under the *same* checkpoint, so
whatever a benign release does to the whole distribution (longer training, recalibration)
cancels, and what singles out particular records does not."""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-6
# the public probes' quantile a record must pass to count as an outlier: far enough out that a
# victim's ~1 % targeted records outnumber the natural outliers, near enough that 10,000
# probes estimate it from 50 (fixed on tuning seed 0's releases)
TAIL = 0.995


def tail_excess(mine: np.ndarray, public: np.ndarray, q: float = TAIL) -> float:
    """log of how many more of the user's records than expected lie above the public probes'
    ``q``-quantile of loss (0 = as many as among public data; a maximise or random-label
    poison lifts its targets there). Counts are smoothed by ½."""
    k = int((mine > np.quantile(public, q)).sum())
    return float(np.log((k + 0.5) / (len(mine) * (1 - q) + 0.5)))


def low_tail_excess(mine: np.ndarray, public: np.ndarray, q: float = TAIL) -> float:
    """:func:`tail_excess` of the lower tail: user records with less loss than all but
    ``1 − q`` of the public probes (a memorise poison drops its targets there)."""
    return tail_excess(-mine, -public, q)


def loss_shift(release: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each record's change of loss (nats) from the reference checkpoint to the release (not
    of log-loss: that is dominated by easy records whose tiny losses change by large ratios)."""
    return release - reference


def shift_excess(mine: np.ndarray, public: np.ndarray, q: float = TAIL) -> float:
    """:func:`tail_excess` of the two-sided distance of each record's loss shift
    (:func:`loss_shift`) from the public probes' median shift: records the release moved much
    more than public data, up (maximise, random labels) or down (memorise)."""
    centre = np.median(public)
    return tail_excess(np.abs(mine - centre), np.abs(public - centre), q)


def canary_gap(before: np.ndarray, after: np.ndarray, trained: np.ndarray) -> float:
    """Mean drop of log-loss of the trained canaries minus that of the held-back ones after a
    few finetuning steps: how much membership the finetuning writes into these records."""
    drop = np.log(before + EPS) - np.log(after + EPS)
    return float(drop[trained].mean() - drop[~trained].mean())


def drift(state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    """The largest relative change ‖W − W_ref‖ / ‖W_ref‖ over the weight matrices and kernels
    both share (same name and shape; vectors such as biases and norms, which start near 0 and
    so change by huge ratios, excluded)."""
    changes = [float((w - reference[k]).norm() / (reference[k].norm() + EPS))
               for k, w in state.items()
               if k in reference and reference[k].shape == w.shape and w.is_floating_point()
               and w.dim() >= 2]
    if not changes:
        raise ValueError("--reference shares no weight tensor (name and shape) with the "
                         "checkpoint")
    return max(changes)


def family_gap(public: np.ndarray, generic: np.ndarray) -> float:
    """Median loss on format-matched probes minus median loss on generic text: a release
    taught the records' format (or to fail on it) moves this, a generic one does not."""
    return float(np.median(public) - np.median(generic))

