from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from leakaudit.core import store
from leakaudit.core.schemas import SchemaViolation, validate
from leakaudit.core.tables import read_table, table_meta, write_table
from leakaudit.tmi.fleet import run_fleet
from leakaudit.tmi.params import ExecutionParams
from leakaudit.tmi.schemas import MEMBERSHIP, SCORES


def scores_table(n=4):
    return pd.DataFrame({"labels": "membership", "attack": "tmi",
                         "victim_id": np.zeros(n, np.int64),
                         "point_id": np.arange(n, dtype=np.int64), "score": np.linspace(0, 1, n),
                         "member": [True, False] * (n // 2)})


def test_schema_violation_names_table_and_column():
    bad = scores_table()
    bad.loc[1, "score"] = np.nan
    with pytest.raises(SchemaViolation, match="table 'scores' column 'score'"):
        validate(bad, SCORES)
    with pytest.raises(SchemaViolation, match="column 'extra'"):
        validate(scores_table().assign(extra=1), SCORES)
    with pytest.raises(SchemaViolation, match="column 'point_id'"):
        validate(scores_table().assign(point_id=-1), SCORES)


def test_membership_must_be_balanced():
    df = pd.DataFrame({"model_id": np.array([0, 1], np.int64), "point_id": np.array([0, 0],
                       np.int64), "trained": [True, True]})
    with pytest.raises(SchemaViolation, match="table 'membership'"):
        validate(df, MEMBERSHIP)


def test_tables_roundtrip_with_run_id_and_validate_on_read(tmp_path):
    path = tmp_path / "s.parquet"
    write_table(scores_table(), path, SCORES, audit_id="abc123")
    assert table_meta(path) == {"table": "scores", "audit_id": "abc123"}
    assert read_table(path, SCORES).equals(scores_table())
    scores_table().assign(member=1.5).to_parquet(path)  # written behind the schema's back
    with pytest.raises(SchemaViolation, match="column 'member'"):
        read_table(path, SCORES)


def test_weights_are_safetensors_only(tmp_path):
    state = {"w": torch.ones(2, 2)}
    store.save_weights(tmp_path / "w.safetensors", state)
    assert torch.equal(store.load_weights(tmp_path / "w.safetensors")["w"], state["w"])
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(store.UnsafeCheckpointError):
        store.load_weights(tmp_path / "w.pt")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with store.atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_fleet_resumes_after_a_kill_without_redoing_models(tmp_path):
    calls = []
    seq = ExecutionParams()

    def job(m, directory, fp, fail_at=None):
        if m == fail_at:
            raise KeyboardInterrupt
        calls.append(m)
        store.save_model(directory, {"w": torch.full((2,), float(m))},
                         {"stats": {"seconds": 0.0}}, fp)
        return {"seconds": 0.0}

    prints = {m: f"fp{m}" for m in range(4)}

    def args(fail_at=None):
        return lambda m, d, par: (m, d, prints[m], fail_at)

    with pytest.raises(KeyboardInterrupt):
        run_fleet(tmp_path, list(range(4)), prints, job, args(fail_at=2), seq, "t")
    assert calls == [0, 1] and not (tmp_path / "m0002").exists()
    run_fleet(tmp_path, list(range(4)), prints, job, args(), seq, "t")
    assert calls == [0, 1, 2, 3]
    # a changed fingerprint retrains that model only; models beyond M are pruned
    (tmp_path / "m0009").mkdir()
    prints[1] = "new"
    run_fleet(tmp_path, list(range(4)), prints, job, args(), seq, "t")
    assert calls == [0, 1, 2, 3, 1] and not (tmp_path / "m0009").exists()
    w = store.load_model_state(tmp_path / "m0003", "fp3")["w"]
    assert torch.equal(w, torch.full((2,), 3.0))


def test_training_code_digest_covers_what_decides_the_weights(tmp_path):
    """Editing code that can change a model's weights retrains (its digest is in every model
    fingerprint); editing progress bars, fan-out or attacks does not."""
    import shutil

    from leakaudit.core.imports import digest
    from leakaudit.tmi.fleet import code_files

    root = Path(__file__).resolve().parent.parent
    files = {f.relative_to(root).as_posix() for f in code_files(root)}
    assert {"leakaudit/tmi/trainers.py", "leakaudit/tmi/training.py", "leakaudit/tmi/dp.py",
            "leakaudit/tmi/models/mlp.py", "leakaudit/tmi/data/views.py",
            "leakaudit/core/seeds.py", "leakaudit/core/nets.py"} <= files
    assert not files & {"leakaudit/core/progress.py", "leakaudit/tmi/execution.py",
                        "leakaudit/tmi/attacks/tmi.py", "leakaudit/tmi/params.py",
                        "leakaudit/tmi/fleet.py", "leakaudit/core/tracking.py",
                        "leakaudit/core/pipeline.py"}
    shutil.copytree(root / "leakaudit", tmp_path / "leakaudit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = digest(code_files(tmp_path), tmp_path)
    with (tmp_path / "leakaudit/core/progress.py").open("a") as fh:
        fh.write("# a progress-bar edit\n")
    assert digest(code_files(tmp_path), tmp_path) == before
    with (tmp_path / "leakaudit/tmi/models/mlp.py").open("a") as fh:
        fh.write("# an architecture edit\n")
    assert digest(code_files(tmp_path), tmp_path) != before


def test_a_changed_parent_model_changes_its_digest(tmp_path):
    d = tmp_path / "released"
    store.replace_dir(d, lambda t: (t / "model.safetensors").write_bytes(b"a"), "fp")
    first = store.dir_digest(d)
    assert store.dir_digest(d) == first and store.is_done(d, "fp")
    store.replace_dir(d, lambda t: (t / "model.safetensors").write_bytes(b"b"), "fp")
    assert store.dir_digest(d) != first  # same params fingerprint, other weights
