"""The classifier privacy-backdoor audits (vision, text): a :class:`BackdoorPipeline` run by the
shared classifier stages (``tasks/backdoor_classifier``) on its own domain
(:class:`leakaudit.backdoor.domain.Domain`: data and model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pandera.pandas import Check

from leakaudit.backdoor.pipeline import BackdoorPipeline
from leakaudit.backdoor.schemas import BD_IMAGE_CANDIDATES
from leakaudit.core.schemas import Schema

STAGES = "backdoor_classifier"  # the package of the shared stages


@dataclass(frozen=True)
class ClassifierPipeline(BackdoorPipeline):
    """A classifier backdoor audit; ``domain`` is its data and model."""

    domain: Any = None


def candidates_schema(name: str, n_classes: int) -> Schema:
    """The candidate table of a classifier audit with ``n_classes`` labels (the vision
    audit's table with its label ranges)."""
    labels = Check.in_range(0, n_classes - 1)
    frame = BD_IMAGE_CANDIDATES.frame.update_columns(
        {"label": {"checks": [labels]}, "poison_label": {"checks": [labels]}})
    frame.name = name  # update_columns returned a copy
    return Schema(frame)
