"""The language-model backdoor stages' wrapper and paths (declared once in the library)."""

from __future__ import annotations

from functools import partial

from leakaudit.layout import ARMS, MODELS, OUT, arm_dir, victim_dir
from tasks._stage import stage as _stage

__all__ = ["ARMS", "MODELS", "OUT", "arm_dir", "victim_dir", "stage"]

stage = partial(_stage, pipeline="backdoor")  # params from backdoor/params.yaml
