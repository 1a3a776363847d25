"""An audit pipeline, declared once: its folder, params model and stages, and for each stage the
module it runs, the params keys it reads, what it reads from earlier stages and what it writes.

Everything else is derived from the declaration: each pipeline's ``dvc.yaml`` (commands, deps =
the stage module's import closure plus the upstream outputs it reads, params, outs;
:mod:`leakaudit.core.dvcfile`), the files stages read and write by name (``tasks/_stage.py``),
each stage's record of its params, and the stage order of flows, sweeps and reports.

What differs between audit families (the terminal table, the report's sections, how a run's
seeds are set, sweep summaries) lives in each family's behaviour module (``Pipeline.family``),
called through the pipeline's methods; a family's :class:`Pipeline` subclass adds its data
(replicates, score columns).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from leakaudit.core.layout import MODELS, OUT, STAGE_RECORD, replicate_dir
from leakaudit.core.params import AuditParams
from leakaudit.core.schemas import Schema

ALL_PARAMS = "*"  # a stage that reads the whole params file (DVC: ``params.yaml:``)
ITEM = "${item}"  # DVC's foreach placeholder: one replicate's seed
RECORD = ".record"  # ``<stage>.record``: a stage's stage.json, as an input of a later stage


@dataclass(frozen=True)
class Table:
    """A parquet table in its stage's output directory: the file name (may hold ``{fields}``,
    e.g. a signals table's view; ``variants`` lists their values) and its schema."""

    file: str
    schema: Schema
    variants: tuple[dict[str, str], ...] = ({},)

    def files(self) -> list[str]:
        """Every file name the table takes (one per variant)."""
        return [self.file.format(**v) for v in self.variants]


@dataclass(frozen=True)
class Models:
    """A directory of model weights: ``models/<name>`` (per replicate:
    ``models/replicates/seed-<s>/<name>``). ``persist``: kept when the stage reruns, so
    finished models resume (each carries a fingerprint in its marker)."""

    name: str
    persist: bool = False


@dataclass(frozen=True)
class File:
    """Any other output, at ``path`` relative to the pipeline's folder: ``cache=False`` keeps it
    in git (metrics, plots, the report), ``metric`` makes it a DVC metrics file."""

    path: str
    cache: bool = True
    metric: bool = False


Output = Table | Models | File


@dataclass(frozen=True)
class Stage:
    """One stage: ``python -m <module> --pipeline <name>`` (``--replicate <seed>`` when
    ``per_replicate``). ``params`` are the sections or dotted keys it reads (``ALL_PARAMS``: the
    whole file); ``reads`` the outputs of earlier stages it opens, by name (``<stage>.record``:
    that stage's ``stage.json``); ``writes`` its outputs by name; ``torch``: it needs a device."""

    name: str
    module: str
    params: tuple[str, ...]
    reads: tuple[str, ...] = ()
    writes: dict[str, Output] = field(default_factory=dict)
    per_replicate: bool = False
    torch: bool = True
    record: bool = True  # writes stage.json (every stage but the params check)
    family: bool = False  # runs its family's behaviour module (the report): a dep too


@dataclass(frozen=True)
class Pipeline:
    """One audit, declared once. ``folder`` is relative to the repository root; its
    ``params.yaml`` is validated by ``params``; ``stages`` run in the order given."""

    name: str
    folder: str
    params: type[AuditParams]
    stages: tuple[Stage, ...]
    preset_prefix: str  # presets whose name starts with it belong to this pipeline
    metrics_file: str = "metrics.json"
    threat: str = ""  # the threat model, in the report's words
    family: str = ""  # the module with the family's behaviour (render, html_sections, …)

    replicate_key: ClassVar[str] = ""  # the params key DVC's foreach iterates over

    # ---- the declaration, looked up ----------------------------------------------------------

    def stage(self, name: str) -> Stage:
        """The stage called ``name``; a clear error lists the stages."""
        for s in self.stages:
            if s.name == name:
                return s
        raise ValueError(f"{self.name}: no stage {name!r}; stages: "
                         f"{', '.join(s.name for s in self.stages)}")

    @cached_property
    def outputs(self) -> dict[str, tuple[Stage, Output]]:
        """Every output by name, with the stage that writes it (names are unique)."""
        found: dict[str, tuple[Stage, Output]] = {}
        for s in self.stages:
            for name, out in s.writes.items():
                if name in found:
                    raise ValueError(f"{self.name}: output {name!r} written by both "
                                     f"{found[name][0].name!r} and {s.name!r}")
                found[name] = (s, out)
        return found

    @property
    def tables(self) -> dict[str, tuple[Stage, Table]]:
        """Every table by name, with the stage that writes it."""
        return {n: (s, o) for n, (s, o) in self.outputs.items() if isinstance(o, Table)}

    def table(self, name: str) -> Table:
        """The table called ``name``."""
        return self.tables[name][1]

    def path(self, name: str, replicate: int | str | None = None, root: Path = Path("."),
             **fields: str) -> Path:
        """Where an output lives under ``root`` (its pipeline folder); for outputs of
        per-replicate stages, ``replicate`` is the seed (or DVC's ``${item}``). ``<stage>.record``
        names a stage's ``stage.json``."""
        if name.endswith(RECORD):
            return root / self.record_path(name.removesuffix(RECORD), replicate)
        stage, out = self.outputs[name]
        rep = replicate if stage.per_replicate else None
        if isinstance(out, Table):
            return root / self.stage_dir(stage.name, rep) / out.file.format(**fields)
        if isinstance(out, Models):
            base = MODELS if rep is None else replicate_dir(MODELS, rep)
            return root / base / out.name
        return root / out.path

    def stage_dir(self, stage: str, replicate: int | str | None = None) -> Path:
        """A stage's output directory (of a replicate, for per-replicate stages)."""
        per = self.stage(stage).per_replicate
        return (OUT if replicate is None or not per else replicate_dir(OUT, replicate)) / stage

    def owner_of(self, name: str) -> Stage:
        """The stage that writes the output (or the record) called ``name``."""
        if name.endswith(RECORD):
            return self.stage(name.removesuffix(RECORD))
        return self.outputs[name][0]

    def record_path(self, stage: str, replicate: int | str | None = None) -> Path:
        """A stage's ``stage.json``."""
        return self.stage_dir(stage, replicate) / STAGE_RECORD

    # ---- params -------------------------------------------------------------------------------

    def params_file(self, root: Path | None = None) -> Path:
        """Its params.yaml (under ``root``, default: relative to the working directory)."""
        return (root or Path(".")) / self.folder / "params.yaml"

    def load(self, path: str | Path | None = None) -> Any:
        """Load and validate the pipeline's params (default: its params.yaml)."""
        return self.params.load(path or self.params_file())

    def replicates(self, params: Any) -> list[int]:
        """The seeds its per-replicate stages run for (none: the audit has no replicates)."""
        return []

    def dvc_stages(self, params: Any) -> list[str]:
        """Stage addresses for `dvc repro` from the repository root, in order."""
        names: list[str] = []
        for s in self.stages:
            names += ([f"{s.name}@{r}" for r in self.replicates(params)] if s.per_replicate
                      else [s.name])
        return names if self.folder == "." else [f"{self.folder}/dvc.yaml:{n}" for n in names]

    def stage_names(self, params: Any) -> list[str]:
        """Its DVC stage names in order (per-replicate stages once per seed)."""
        return [n.rsplit(":", 1)[-1] for n in self.dvc_stages(params)]

    # ---- what each family does differently (its `family` module) -------------------------------
    # The family module is imported only where its behaviour is used (the CLI, flows, the
    # report stage), so a stage's deps hold its family's reporting code only when it runs it.

    def _family(self) -> ModuleType:
        return importlib.import_module(self.family)

    def render(self, metrics: dict) -> str:
        """The headline table for the terminal, from its metrics file."""
        return self._family().render(self, metrics)

    def html_sections(self, metrics: dict, params: dict) -> list[str]:
        """The report's sections between the threat model and the ROC curves."""
        return self._family().html_sections(self, metrics, params)

    def seed_settings(self, seeds: list[int]) -> dict[str, Any]:
        """The params a run with these seeds sets (``ValueError`` if the audit cannot)."""
        return self._family().seed_settings(self, seeds)

    def headline_rows(self, metrics: Any) -> Any:
        """The metrics table's headline rows (what a flow publishes)."""
        return self._family().headline_rows(self, metrics)

    def sweeps(self) -> ModuleType:
        """Its sweep summariser: ``summarise(rows, axis, names)``, ``plot_sweep(table, path)``,
        ``curve_metrics(table)``, ``SHOWN`` and ``METRICS``."""
        return self._family().SWEEPS

    def plots(self) -> list[Any]:
        """The ``plots`` section of its ``dvc.yaml``."""
        return self._family().plots(self)
