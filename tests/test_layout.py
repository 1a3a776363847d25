"""The code's structure: stages stay thin and independent; every pipeline is registered once."""

import ast
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
        assert stages[-1].endswith("evaluate"), name
        assert for_params_file(folder / "params.yaml") is pipe
    assert for_preset("backdoor-vision-tiny").name == "backdoor-vision"
    assert for_preset("backdoor-tiny").name == "backdoor"
    assert for_preset("tiny").name == "tmi"
    with pytest.raises(ValueError, match="pipeline: got 'nope'; allowed: 'tmi'"):
        get("nope")
