"""What the vision backdoor stages share: their params loader, the data splits and paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from leakaudit.backdoor.vision_config import load_vision_params, vision_audit_id
from tasks._stage import Stage
from tasks._stage import stage as _stage
from tasks.backdoor._common import ARMS, MODELS, OUT, arm_dir, victim_dir

__all__ = ["ARMS", "MODELS", "OUT", "arm_dir", "victim_dir", "stage"]


@contextmanager
def stage(name: str, sections: tuple[str, ...], torch: bool = True) -> Iterator[Stage]:
    """A vision backdoor stage (params from the vision pipeline's params.yaml)."""
    with _stage(name, sections, torch, load_vision_params, vision_audit_id) as s:
        yield s
