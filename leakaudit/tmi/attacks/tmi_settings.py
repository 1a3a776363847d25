"""``attack.tmi``: the TMI metaclassifiers' settings, apart from their torch trainer
(:mod:`leakaudit.tmi.attacks.tmi`) so that validating params never loads torch."""

from __future__ import annotations

from pydantic import Field

from leakaudit.core.params import Section


class TmiParams(Section):
    """``attack.tmi``: the per-point metaclassifiers (the reference's MLP and schedule)."""

    hidden: int = Field(64, ge=1)
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    lr: float = Field(5e-3, gt=0.0)
    weight_decay: float = Field(5e-4, ge=0.0)
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(64, ge=1)
    step_size: int = Field(7, ge=1)
    gamma: float = Field(0.9, gt=0.0, le=1.0)
    chunk: int = Field(4096, ge=1, description="metaclassifiers trained per fused program "
                       "(whole points: at least one point's shadow sets)")
