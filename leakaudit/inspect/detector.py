"""The verdict: a logistic combination of standardised signals, fitted on releases from tuning
seeds (``bench/inspect_checkpoint.py --tune``), with its threshold fixed there — never on the
releases it is evaluated on. One detector per checkpoint family and per setting (``SETTINGS``),
stored as JSON beside this module."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DETECTORS = Path(__file__).parent / "detectors"
# what the user gave: records only; records and a reference; records, a reference and a benign
# baseline of continuations of it (the detector then reads the signals' excess over it)
SETTINGS = ("alone", "reference", "calibrated")


def setting_of(reference: bool, baseline: bool) -> str:
    """The detector setting an inspection ran in."""
    return "calibrated" if baseline else "reference" if reference else "alone"


@dataclass(frozen=True)
class Detector:
    """``score = bias + Σ weight·(value − mean)/scale``; suspicious when above ``threshold``."""

    signals: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str  # which releases (for the explanation)
    # the threshold's measured operating point on fresh-seed releases (bench), if evaluated:
    # fpr, tpr, auc, negatives, positives
    fresh: dict | None = None

    def contributions(self, values: dict[str, float | None]) -> dict[str, float]:
        """Each signal's term of the score (a missing signal counts at the tuning mean: 0)."""
        out = {}
        for s, m, sc, w in zip(self.signals, self.mean, self.scale, self.weights, strict=True):
            v = values.get(s)
            out[s] = 0.0 if v is None else w * (v - m) / sc
        return out

    def score(self, values: dict[str, float | None]) -> float:
        return self.bias + sum(self.contributions(values).values())


def fit(table: dict[str, np.ndarray], labels: np.ndarray, signals: tuple[str, ...],
        fitted_on: str, c: float = 1.0) -> Detector:
    """L2-regularised logistic regression on the standardised ``signals``; the threshold is
    the highest negative's score (no tuning negative flagged)."""
    from sklearn.linear_model import LogisticRegression

    x = np.column_stack([table[s] for s in signals]).astype(float)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    lr = LogisticRegression(C=c).fit((x - mean) / scale, labels)
    det = Detector(signals, tuple(mean), tuple(scale), tuple(lr.coef_[0]),
                   float(lr.intercept_[0]), 0.0, fitted_on)
    scores = np.array([det.score(dict(zip(signals, row, strict=True))) for row in x])
    return Detector(**{**asdict(det), "threshold": float(scores[labels == 0].max())})


def record_fresh(family: str, setting: str, fresh: dict) -> None:
    """Store a detector's measured operating point on fresh releases beside it."""
    from leakaudit.core.store import write_json

    path = detector_file(family)
    entries = json.loads(path.read_text())
    entries[setting]["fresh"] = fresh
    write_json(path, entries)


def detector_file(family: str) -> Path:
    return DETECTORS / f"{family}.json"


def save(family: str, detectors: dict[str, Detector]) -> None:
    from leakaudit.core.store import write_json

    write_json(detector_file(family), {k: asdict(d) for k, d in detectors.items()})


def load(family: str, setting: str) -> Detector | None:
    """The fitted detector for a family and setting (``SETTINGS``), or None if none was
    fitted."""
    if setting not in SETTINGS:
        raise ValueError(f"detector setting {setting!r}; allowed: {list(SETTINGS)}")
    path = detector_file(family)
    if not path.exists():
        return None
    entry = json.loads(path.read_text()).get(setting)
    return None if entry is None else Detector(**{k: tuple(v) if isinstance(v, list) else v
                                                  for k, v in entry.items()})
