"""The registered audits: name → the module that declares its :class:`Pipeline` (as
``PIPELINE``), imported only when used, so a stage loads its own audit's declaration and no
other. Flows, sweeps, presets, reports, the CLI and the stage runner find audits here.

Adding an audit = one entry here + its declaration module + its folder (``params.yaml``; its
``dvc.yaml`` is generated: ``leakaudit pipelines sync``) + its stage modules under ``tasks/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from leakaudit.core.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]  # the repository (pipelines' folders are in it)

DECLARED_IN = {
    "tmi": "leakaudit.tmi.pipeline",
    "backdoor": "leakaudit.backdoor.lm.pipeline",
    "backdoor-vision": "leakaudit.backdoor.vision.pipeline",
    "backdoor-text": "leakaudit.backdoor.text.pipeline",
}


class _Registry(Mapping[str, Pipeline]):
    """Pipelines by name, each declaration imported on first access."""

    def __getitem__(self, name: str) -> Pipeline:
        if name not in DECLARED_IN:
            raise KeyError(name)
        pipe = importlib.import_module(DECLARED_IN[name]).PIPELINE
        if pipe.name != name:
            raise ValueError(f"{DECLARED_IN[name]} declares {pipe.name!r}, registered as {name!r}")
        return pipe

    def __iter__(self) -> Iterator[str]:
        return iter(DECLARED_IN)

    def __len__(self) -> int:
        return len(DECLARED_IN)


PIPELINES: Mapping[str, Pipeline] = _Registry()


def get(name: str) -> Pipeline:
    """The pipeline called ``name``; a clear error lists the allowed names."""
    if name not in DECLARED_IN:
        raise ValueError(f"pipeline: got {name!r}; allowed: {', '.join(map(repr, DECLARED_IN))}")
    return PIPELINES[name]


def for_preset(preset: str) -> Pipeline:
    """The pipeline a preset belongs to (the longest matching name prefix)."""
    return max((p for p in PIPELINES.values() if preset.startswith(p.preset_prefix)),
               key=lambda p: len(p.preset_prefix))


def for_params_file(path: str | Path) -> Pipeline:
    """The pipeline whose params.yaml is ``path`` (matched by its folder)."""
    folder = Path(path).resolve().parent
    for p in PIPELINES.values():
        if (ROOT / p.folder).resolve() == folder or (p.folder != "." and folder.name == p.folder):
            return p
    return PIPELINES["tmi"]


def of_kind(kind: type[Pipeline]) -> list[str]:
    """The names of the pipelines that are instances of ``kind`` (e.g. a family's class)."""
    return [n for n, p in PIPELINES.items() if isinstance(p, kind)]
