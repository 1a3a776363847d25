"""Fault probes on the tiny audit: corrupted weights, a tracking outage, incomplete signals, a
bad param, byte-stable lineage, file modes. Each probe states what a user must see."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_pipeline import BIN, _env, make_copy, rep, run, set_yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    repo = make_copy(tmp_path_factory.mktemp("faults"))
    run([str(BIN / "dvc"), "repro"], repo)
    return repo


def snapshot(repo: Path) -> dict[str, str]:
    """Digest of every file under outputs/, models/ and plots/ plus metrics.json."""
    files = [p for d in ("outputs", "models", "plots") for p in (repo / d).rglob("*")
             if p.is_file()] + [repo / "metrics.json"]
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def done_times(repo: Path, kind: str) -> dict[str, int]:
    root = repo / "models/replicates/seed-1" / kind
    return {d.name: (d / "DONE").stat().st_mtime_ns for d in sorted(root.iterdir())}


def test_corrupted_weights_retrain_that_model_alone(audited, tmp_path):
    repo = tmp_path / "corrupt"
    import shutil

    shutil.copytree(audited, repo)
    metrics = (repo / "metrics.json").read_text()
    pre, fin = done_times(repo, "pretrain"), done_times(repo, "finetune")
    weights = repo / "models/replicates/seed-1/pretrain/m0003/weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated, DONE kept
    out = run([str(BIN / "dvc"), "repro"], repo)
    assert "m0003: weights do not match the digest" in out
    after = done_times(repo, "pretrain")
    assert [m for m in pre if after[m] != pre[m]] == ["m0003"]
    assert done_times(repo, "finetune") == fin  # same fingerprint, same (retrained) parent
    assert (repo / "metrics.json").read_text() == metrics  # bit-identical retraining


def test_a_corrupted_model_fails_loading_with_its_directory(tmp_path):
    import torch

    from leakaudit.core import store

    d = tmp_path / "m0007"
    store.save_model(d, {"w": torch.ones(3)}, {"stats": {}}, "fp")
    (d / store.WEIGHTS).write_bytes(b"\x00" * 10)
    with pytest.raises(store.CheckpointError, match="m0007.*digest"):
        store.load_model_state(d, "fp")
    marker = json.loads((d / store.MARKER).read_text())
    (d / store.MARKER).write_text(json.dumps({"fingerprint": marker["fingerprint"]}))
    with pytest.raises(store.CheckpointError, match="m0007.*weights.safetensors: cannot read"):
        store.load_weights(d / store.WEIGHTS)


class Blackhole:
    """A TCP server that accepts connections and never answers (a hung tracking server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


def _evaluate(repo: Path, uri: str) -> tuple[subprocess.CompletedProcess, float]:
    env = _env() | {"LEAKAUDIT_MLFLOW_URI": uri}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tasks.evaluate"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc, time.perf_counter() - t0


def _assert_warning_tagged(repo: Path, uri: str, stderr: str) -> None:
    """The degenerate-model warning reaches stderr and the audit run's `warning` tag alike."""
    import mlflow

    from leakaudit.tmi.utility import downstream_warning

    utility = json.loads((repo / "metrics.json").read_text())["utility"]
    gain = yaml.safe_load((repo / "params.yaml").read_text())["evaluate"]["min_downstream_gain"]
    expected = downstream_warning(utility, gain)
    run = mlflow.MlflowClient(uri).search_runs(
        [e.experiment_id for e in mlflow.MlflowClient(uri).search_experiments()],
        "tags.kind = 'audit'")[0]
    assert expected and "finetuned model is at chance" in expected
    assert run.data.tags.get("warning") == expected
    assert f"WARNING: {expected}" in stderr


def test_tracking_outage_completes_the_audit_and_replays_later(audited, tmp_path):
    import shutil

    repo = tmp_path / "outage"
    shutil.copytree(audited, repo)
    set_yaml(repo / "params.yaml", evaluate={"min_downstream_gain": 1.0})  # always warns
    ok, t_ok = _evaluate(repo, f"sqlite:///{tmp_path / 'ok.db'}")
    assert ok.returncode == 0, ok.stderr[-2000:]
    _assert_warning_tagged(repo, f"sqlite:///{tmp_path / 'ok.db'}", ok.stderr)
    hole = Blackhole()
    try:
        (repo / "metrics.json").unlink()
        proc, t_dead = _evaluate(repo, f"http://127.0.0.1:{hole.port}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        print(f"tracking outage: evaluate {t_dead:.1f} s vs {t_ok:.1f} s reachable")
        assert t_dead - t_ok < 15, (t_dead, t_ok)
        assert "MLflow tracking failed" in proc.stderr and "replay" in proc.stderr
        ids = json.loads((repo / "outputs/evaluate/mlflow.json").read_text())
        assert ids["status"] == "failed"
        record = json.loads((repo / "outputs/evaluate/run.json").read_text())
        assert record["tracking"] == "failed"
        assert json.loads((repo / "metrics.json").read_text())["tmi"]["auc"] >= 0
        # required: an unreachable store fails at once, before computing anything
        set_yaml(repo / "params.yaml", tracking={"required": True})
        proc, t_req = _evaluate(repo, f"http://127.0.0.1:{hole.port}")
        assert proc.returncode != 0 and "tracking.required" in proc.stderr
        assert t_req < t_dead + 5
    finally:
        hole.close()
    set_yaml(repo / "params.yaml", tracking={"required": False})
    db = tmp_path / "later.db"
    env = _env() | {"LEAKAUDIT_MLFLOW_URI": f"sqlite:///{db}"}
    out = subprocess.run([sys.executable, "-m", "leakaudit.tmi.tracking", "replay"], cwd=repo,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    ids = json.loads((repo / "outputs/evaluate/mlflow.json").read_text())
    assert ids["status"] == "logged"
    import mlflow

    run_ = mlflow.MlflowClient(f"sqlite:///{db}").get_run(ids["mlflow_run_id"])
    assert "tmi.auc" in run_.data.metrics


def test_two_audits_create_one_sqlite_store_at_once(tmp_path):
    db = tmp_path / "shared.db"
    code = ("import mlflow; from leakaudit.core.tracking import store_lock\n"
            f"uri = 'sqlite:///{db}'\n"
            "with store_lock(uri):\n"
            "    mlflow.MlflowClient(uri).search_experiments()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=_env(), stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()[-2000:]


@pytest.mark.parametrize("damage", ["column", "model"])
def test_incomplete_signals_fail_fast_naming_file_and_column(audited, tmp_path, damage):
    import shutil

    repo = tmp_path / damage
    shutil.copytree(audited, repo)
    path = rep(repo) / "query/signals_finetuned.parquet"
    sig = pd.read_parquet(path)
    sig = sig.drop(columns=["prob_1"]) if damage == "column" else sig[sig.model_id != 2]
    sig.to_parquet(path)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tasks.attack", "--replicate", "1"], cwd=repo,
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and time.perf_counter() - t0 < 5
    assert "signals_finetuned.parquet" in proc.stderr
    assert ("column 'prob_1'" if damage == "column" else "models [2] are missing") in proc.stderr
    assert not (rep(repo) / "attack/scores.parquet").exists() or \
        (rep(repo) / "attack/scores.parquet").stat().st_mtime < path.stat().st_mtime


@pytest.mark.parametrize("bad", [{"prepare": {"n_modles": 8}}, {"foo": {"bar": 1}},
                                 {"attack": {"n_victims": 3}}])
def test_a_bad_param_changes_nothing_on_disk(audited, tmp_path, bad):
    import shutil

    repo = tmp_path / "bad"
    shutil.copytree(audited, repo)
    before = snapshot(repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in bad.items():
        params.setdefault(section, {}).update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    section = next(iter(bad))
    key = section if section == "foo" else f"{section}.{next(iter(bad[section]))}"
    assert key in proc.stdout + proc.stderr
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if k != "outputs/params.ok"} == \
        {k: v for k, v in before.items() if k != "outputs/params.ok"}


def test_identical_runs_give_an_identical_dvc_lock(audited, tmp_path):
    other = make_copy(tmp_path)
    run([str(BIN / "dvc"), "repro"], other)
    assert (other / "dvc.lock").read_text() == (audited / "dvc.lock").read_text()
    assert (other / "metrics.json").read_text() == (audited / "metrics.json").read_text()


def test_written_files_follow_the_umask(tmp_path):
    import importlib

    import leakaudit.core.store as store
    from leakaudit.core.store import write_json

    old, saved = os.umask(0o022), dict(vars(store))
    try:
        importlib.reload(store)
        store.write_json(tmp_path / "x.json", {"a": 1})
        assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
        vars(store).update(saved)  # the original classes again (later tests match on them)
    write_json(tmp_path / "y.json", {})
