"""The code's structure: stages stay thin and independent; every pipeline is registered once."""

import ast
import re
from pathlib import Path

import pytest

from leakaudit.pipelines import PIPELINES, for_params_file, for_preset, get

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


def test_no_stage_imports_another_stage():
    """A stage module may import only the stage wrapper (tasks._stage) and its own package's
    wrapper (tasks.<pipeline>._common): shared code lives in the library."""
    for path in (ROOT / "tasks").rglob("*.py"):
        package = ".".join(path.relative_to(ROOT).parent.parts)
        allowed = {"tasks._stage", f"{package}._common"}
        used = {m for m in _imports(path) if m == "tasks" or m.startswith("tasks.")}
        assert used <= allowed, (path, used - allowed)


def test_every_pipeline_is_registered_with_its_folder_params_and_stages():
    for name, pipe in PIPELINES.items():
        folder = ROOT / pipe.folder
        assert (folder / "dvc.yaml").exists() and (folder / "params.yaml").exists(), name
        params = pipe.load(folder / "params.yaml")
        assert params.audit_id() == pipe.model.model_validate(params.model_dump()).audit_id()
        stages = pipe.dvc_stages(params)
        assert stages[-2].endswith("evaluate") and stages[-1].endswith("report"), name
        assert for_params_file(folder / "params.yaml") is pipe
    assert for_preset("backdoor-vision-tiny").name == "backdoor-vision"
    assert for_preset("backdoor-tiny").name == "backdoor"
    assert for_preset("tiny").name == "tmi"
    with pytest.raises(ValueError, match="pipeline: got 'nope'; allowed: 'tmi'"):
        get("nope")


def _outs(dvc: dict) -> dict[str, set[str]]:
    """Each dvc.yaml stage's declared outputs (foreach stages: their template)."""
    found = {}
    for name, st in dvc["stages"].items():
        body = st.get("do", st)
        found[name] = {next(iter(o)) if isinstance(o, dict) else o for o in body.get("outs", [])}
    return found


def test_every_registered_table_is_an_output_of_its_stage_in_dvc_yaml():
    """Stages read and write tables by name (``Stage.read``/``write``); the registry is the one
    place their files and schemas are declared, and DVC must track each of them."""
    import yaml

    from leakaudit.schemas import SCHEMAS

    for name, pipe in PIPELINES.items():
        outs = _outs(yaml.safe_load((ROOT / pipe.folder / "dvc.yaml").read_text()))
        for key, table in pipe.tables.items():
            assert table.schema in SCHEMAS, (name, key)
            declared = outs[table.stage]
            base = ("outputs/replicates/seed-${item}" if any("${item}" in o for o in declared)
                    else "outputs")
            pattern = re.escape(f"{base}/{table.stage}/{table.file}").replace(
                r"\{view\}", "[a-z]+")
            assert any(re.fullmatch(pattern, o) for o in declared), (name, key, declared)


def test_a_stage_writes_only_its_own_tables(tmp_path, monkeypatch):
    from tasks._stage import Stage

    monkeypatch.chdir(tmp_path)
    pipe = get("backdoor")
    s = Stage("score", pipe.load(ROOT / pipe.folder / "params.yaml"), "id", pipe)
    with pytest.raises(ValueError, match="stage 'score' cannot write table 'candidates'"):
        s.write("candidates", None)
    assert s.path("candidates") == Path("outputs/targets/candidates.parquet")
