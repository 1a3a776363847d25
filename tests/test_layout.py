"""Lineage and structure: every stage is declared once, each dvc.yaml is generated from the
declarations with deps = the code the stage runs, stages open only what they declare, stages
stay thin and independent."""

import ast
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import expand_deps

from leakaudit.core.dvcfile import code_files, compress, stale
from leakaudit.core.imports import closure
from leakaudit.core.registry import PIPELINES, for_params_file, for_preset, get

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def stage_deps(pipe, name: str, root: Path = ROOT) -> set[Path]:
    """The deps of a stage in the committed dvc.yaml of ``pipe`` (under ``root``), as files."""
    folder = root / pipe.folder
    st = yaml.safe_load((folder / "dvc.yaml").read_text())["stages"][name]
    return expand_deps(st.get("do", st)["deps"], folder)


def test_no_stage_imports_another_stage():
    """A stage module may import only the stage runner: shared code lives in the library."""
    for path in (ROOT / "tasks").rglob("*.py"):
        used = {m for m in _imports(path) if m == "tasks" or m.startswith("tasks.")}
        assert used <= {"tasks._stage"}, (path, used)


def test_every_pipeline_is_registered_with_its_folder_params_and_stages():
    for name, pipe in PIPELINES.items():
        folder = ROOT / pipe.folder
        assert (folder / "dvc.yaml").exists() and (folder / "params.yaml").exists(), name
        params = pipe.load(folder / "params.yaml")
        assert params.audit_id() == pipe.params.model_validate(params.model_dump()).audit_id()
        stages = pipe.dvc_stages(params)
        assert stages[0].endswith("params")  # the whole params file is checked first
        assert stages[-2].endswith("evaluate") and stages[-1].endswith("report"), name
        assert for_params_file(folder / "params.yaml") is pipe
        for s in pipe.stages:
            assert (ROOT / Path(*s.module.split("."))).with_suffix(".py").exists(), s.module
    assert for_preset("backdoor-vision-tiny").name == "backdoor-vision"
    assert for_preset("backdoor-tiny").name == "backdoor"
    assert for_preset("backdoor-text-tiny").name == "backdoor-text"
    assert for_preset("tiny").name == "tmi"
    with pytest.raises(ValueError, match="pipeline: got 'nope'; allowed: 'tmi'"):
        get("nope")


def test_committed_dvc_yaml_files_are_generated_from_the_declarations():
    """`leakaudit pipelines sync` writes them; a hand edit or a changed declaration fails."""
    diffs = stale()
    assert not diffs, "run `leakaudit pipelines sync`:\n" + "\n".join(diffs.values())


def test_a_hand_edited_dvc_yaml_is_reported_stale(tmp_path):
    import shutil

    for item in ("leakaudit", "tasks"):
        shutil.copytree(ROOT / item, tmp_path / item,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for pipe in PIPELINES.values():
        (tmp_path / pipe.folder).mkdir(exist_ok=True)
        shutil.copy2(ROOT / pipe.folder / "dvc.yaml", tmp_path / pipe.folder / "dvc.yaml")
    assert stale(tmp_path) == {}
    dvc = tmp_path / "dvc.yaml"
    text = dvc.read_text()
    edited = re.sub(r"leakaudit/tmi/querying\.py,\s*", "", text, count=1)  # a dep dropped
    assert edited != text
    dvc.write_text(edited)
    assert set(stale(tmp_path)) == {"tmi"}


def test_query_depends_on_code_it_reaches_only_indirectly():
    """`predict_logits` (leakaudit/tmi/training.py) runs in `query` only through
    leakaudit/tmi/querying.py: its file is a dep of `query`, not of `prepare`."""
    tmi = get("tmi")
    training = (ROOT / "leakaudit/tmi/training.py").resolve()
    assert training in stage_deps(tmi, "query")
    assert training not in stage_deps(tmi, "prepare")
    # every stage's deps hold its module's whole import closure
    for name, pipe in PIPELINES.items():
        for s in pipe.stages:
            have = stage_deps(pipe, s.name)
            assert {f.resolve() for f in code_files(pipe, s)} <= have, (name, s.name)


def test_closure_follows_indirect_function_level_and_package_imports(tmp_path):
    def write(rel: str, text: str) -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    write("pkg/__init__.py", "")
    write("pkg/a.py", "from pkg import b\n")
    write("pkg/b.py", "def f():\n    from pkg.sub.c import g\n    return g()\n")
    write("pkg/sub/__init__.py", "from .d import h\n")
    write("pkg/sub/c.py", "import importlib\nM = importlib.import_module('pkg.e')\n")
    write("pkg/sub/d.py", "")
    write("pkg/e.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.f\n")
    write("pkg/f.py", "")
    write("pkg/g.py", "")
    found = {p.relative_to(tmp_path).as_posix() for p in closure(["pkg.a"], tmp_path)}
    assert found == {"pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/sub/__init__.py",
                     "pkg/sub/c.py", "pkg/sub/d.py", "pkg/e.py"}
    # a folder stands for its modules only when every one of them is a dep
    assert compress(closure(["pkg.a"], tmp_path), tmp_path) == [
        "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/e.py", "pkg/sub"]


def test_a_stage_opens_only_what_it_declares(tmp_path, monkeypatch):
    from tasks._stage import StageRun

    monkeypatch.chdir(tmp_path)
    pipe = get("backdoor")
    s = StageRun(pipe.stage("score"), pipe.load(ROOT / pipe.folder / "params.yaml"), "id", pipe)
    with pytest.raises(ValueError, match="stage 'score' cannot write table 'candidates'"):
        s.write("candidates", None)
    with pytest.raises(ValueError, match="does not declare 'membership'"):
        s.read("membership")
    assert s.path("candidates") == Path("outputs/targets/candidates.parquet")
    assert s.path("victims") == Path("models/victims")


def test_stage_records_name_the_params_it_declares():
    """A stage's record holds exactly its declared keys (dotted keys narrow a section)."""
    pipe = get("backdoor")
    p = pipe.load(ROOT / pipe.folder / "params.yaml")
    picked = p.pick(pipe.stage("targets").params)
    assert picked == {"base": {"seed": p.base.seed}, "targets": p.targets.model_dump()}
    picked = p.pick(pipe.stage("membership").params)
    assert picked == {"base": {"seed": p.base.seed}, "victims": {
        "n_victims": p.victims.n_victims, "membership": p.victims.membership}}


@pytest.mark.parametrize("folder,forbidden", [
    ("leakaudit/core", ("leakaudit.tmi", "leakaudit.backdoor")),
    ("leakaudit/tmi", ("leakaudit.backdoor",)),
    ("leakaudit/backdoor", ("leakaudit.tmi",)),
    ("tasks/backdoor", ("leakaudit.tmi",)),
    ("tasks/backdoor_classifier", ("leakaudit.tmi",)),
])
def test_the_framework_and_each_audit_family_stay_apart(folder, forbidden):
    """The framework imports no audit family and the families import each other nowhere
    (shared code lives in leakaudit/core), so a family's stages depend on its own code."""
    for path in (ROOT / folder).rglob("*.py"):
        used = {m for m in _imports(path) if m.startswith(forbidden)}
        assert not used, (path.relative_to(ROOT), used)
