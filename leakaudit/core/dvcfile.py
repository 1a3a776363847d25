"""Each pipeline's ``dvc.yaml``, generated from its declaration (:mod:`leakaudit.core.pipeline`).

Per stage: the command; deps = the project code it runs (the import closure of its module, the
stage runner, its pipeline's declaration and, for the report, its family's behaviour module;
:mod:`leakaudit.core.imports`) plus the outputs
of earlier stages it reads and the params check's marker; params = the keys it reads; outs =
what it writes and its ``stage.json``. A folder whose every module is in the closure is listed
as the folder.

    leakaudit pipelines sync     # write every pipeline's dvc.yaml
    leakaudit pipelines check    # exit 1 if a committed dvc.yaml differs from its declaration
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from leakaudit.core.imports import closure
from leakaudit.core.layout import MODELS, OUT, REPLICATES, STAGE_RECORD
from leakaudit.core.pipeline import (
    ALL_PARAMS,
    ITEM,
    RECORD,
    File,
    Models,
    Pipeline,
    Stage,
    Table,
)
from leakaudit.core.registry import DECLARED_IN, PIPELINES, ROOT


class _Flow(list):
    """A list written in flow style (``[a, b, …]``, wrapped): the long deps lists."""


yaml.SafeDumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))

RUNNER = "tasks._stage"  # every stage runs inside it
PARAMS_OK = "params_ok"  # the params check's marker: every other stage depends on it


def code_files(pipe: Pipeline, stage: Stage, root: Path = ROOT) -> set[Path]:
    """The project files a stage's process may run: its module, the runner, the pipeline's
    declaration and, for a stage that runs it, the family's behaviour module."""
    family = [pipe.family] if stage.family else []
    return closure([stage.module, RUNNER, DECLARED_IN[pipe.name], *family], root)


def compress(files: set[Path], root: Path) -> list[str]:
    """``files`` as paths relative to ``root``, a folder standing for all its modules when
    every ``.py`` file below it is among them."""
    out: list[str] = []

    def walk(d: Path) -> None:
        below = set(d.rglob("*.py"))
        if below and below <= files and d != root:
            out.append(d.relative_to(root).as_posix())
            return
        out.extend(f.relative_to(root).as_posix() for f in sorted(files) if f.parent == d)
        for sub in sorted(p for p in d.iterdir() if p.is_dir()):
            if any(f.is_relative_to(sub) for f in files):
                walk(sub)

    walk(root)
    return out


def _input(pipe: Pipeline, stage: Stage, name: str) -> list[str]:
    """The paths (relative to the pipeline folder) DVC tracks for one input of ``stage``."""
    owner = pipe.owner_of(name)
    if owner.per_replicate and not stage.per_replicate:  # every replicate's outputs
        out = pipe.outputs.get(name, (owner, None))[1]
        return [((MODELS if isinstance(out, Models) else OUT) / REPLICATES).as_posix()]
    item = ITEM if owner.per_replicate else None
    out = None if name.endswith(RECORD) else pipe.outputs[name][1]
    if isinstance(out, Table):
        d = pipe.stage_dir(owner.name, item)
        return [(d / f).as_posix() for f in out.files()]
    return [pipe.path(name, item).as_posix()]


def _outs(pipe: Pipeline, stage: Stage) -> tuple[list[Any], list[Any]]:
    """(outs, metrics) entries of a stage."""
    item = ITEM if stage.per_replicate else None
    outs: list[Any] = []
    metrics: list[Any] = []
    for name, out in stage.writes.items():
        if isinstance(out, Table):
            d = pipe.stage_dir(stage.name, item)
            outs += [(d / f).as_posix() for f in out.files()]
            continue
        path = pipe.path(name, item).as_posix()
        flags = ({"persist": True} if isinstance(out, Models) and out.persist else
                 {"cache": False} if isinstance(out, File) and not out.cache else {})
        (metrics if isinstance(out, File) and out.metric else outs).append(
            {path: flags} if flags else path)
    if stage.record:
        outs.append((pipe.stage_dir(stage.name, item) / STAGE_RECORD).as_posix())
    return outs, metrics


def stage_entry(pipe: Pipeline, stage: Stage, root: Path = ROOT) -> dict[str, Any]:
    """One stage of ``dvc.yaml``."""
    up = "" if pipe.folder == "." else "../" * len(Path(pipe.folder).parts)
    cmd = (f"PYTHONPATH={up.rstrip('/')} " if up else "") + \
        f"python -m {stage.module} --pipeline {pipe.name}" + \
        (f" --replicate {ITEM}" if stage.per_replicate else "")
    first = pipe.stages[0]
    reads = ([] if stage is first else [n for n in first.writes if n == PARAMS_OK])
    deps = [up + p for p in compress(code_files(pipe, stage, root), root)]
    deps += [p for name in (*reads, *stage.reads) for p in _input(pipe, stage, name)]
    body: dict[str, Any] = {"cmd": cmd, "deps": _Flow(dict.fromkeys(deps))}
    body["params"] = ([{"params.yaml": None}] if ALL_PARAMS in stage.params
                      else list(stage.params))
    outs, metrics = _outs(pipe, stage)
    body["outs"] = outs
    if metrics:
        body["metrics"] = metrics
    if stage.per_replicate:
        return {"foreach": "${" + pipe.replicate_key + "}", "do": body}
    return body


def render(pipe: Pipeline, root: Path = ROOT) -> str:
    """The ``dvc.yaml`` text of ``pipe``."""
    doc = {"stages": {s.name: stage_entry(pipe, s, root) for s in pipe.stages},
           "plots": pipe.plots()}
    source = Path(*DECLARED_IN[pipe.name].split(".")).with_suffix(".py").as_posix()
    head = (f"# The {pipe.name} audit's stages, generated from its declaration ({source}) by\n"
            "# `leakaudit pipelines sync`: edit the declaration, not this file. Deps are the\n"
            "# project code each stage runs (its import closure) and the outputs it reads.\n")
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100,
                          allow_unicode=True)
    return head + text.replace(": null\n", ":\n")


def dvc_file(pipe: Pipeline, root: Path = ROOT) -> Path:
    """Where a pipeline's ``dvc.yaml`` lives."""
    return root / pipe.folder / "dvc.yaml"


def stale(root: Path = ROOT) -> dict[str, str]:
    """Pipeline → unified diff of its committed ``dvc.yaml`` against the generated one."""
    found = {}
    for name, pipe in PIPELINES.items():
        path = dvc_file(pipe, root)
        have = path.read_text() if path.exists() else ""
        want = render(pipe, root)
        if have != want:
            found[name] = "".join(difflib.unified_diff(
                have.splitlines(True), want.splitlines(True), str(path), "generated"))
    return found


def main(argv: list[str] | None = None) -> int:
    """``sync``: write every pipeline's dvc.yaml; ``check``: exit 1 naming the stale ones."""
    args = sys.argv[1:] if argv is None else argv
    action = args[0] if args else "check"
    if action == "sync":
        for pipe in PIPELINES.values():
            path = dvc_file(pipe)
            text = render(pipe)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                print(f"wrote {path.relative_to(ROOT)}")
            else:
                print(f"{path.relative_to(ROOT)}: up to date")
        return 0
    diffs = stale()
    for name, diff in diffs.items():
        print(f"{name}: dvc.yaml differs from its declaration (run `leakaudit pipelines sync`)"
              f"\n{diff}", file=sys.stderr)
    if not diffs:
        print("every dvc.yaml matches its pipeline's declaration")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
