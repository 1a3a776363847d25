"""What the backdoor stages share: their params loader, paths and the released checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leakaudit.backdoor.config import backdoor_audit_id, load_backdoor_params
from tasks._stage import Stage
from tasks._stage import stage as _stage

OUT = Path("outputs")
MODELS = Path("models")
ARMS = ("clean", "poisoned")


@contextmanager
def stage(name: str, sections: tuple[str, ...], torch: bool = True) -> Iterator[Stage]:
    """A backdoor stage (params from the backdoor pipeline's params.yaml)."""
    with _stage(name, sections, torch, load_backdoor_params, backdoor_audit_id) as s:
        yield s


def arm_dir(arm: str) -> Path:
    """The released checkpoint of an arm (what a victim downloads)."""
    return MODELS / "released" / arm


def victim_dir(arm: str, victim: int) -> Path:
    return MODELS / "victims" / arm / f"v{victim:03d}"
