"""The `leakaudit` console command: settings become validated DVC experiments, reports read
each pipeline's metrics."""

import json

import pytest
import yaml

from leakaudit import cli
from leakaudit.backdoor.report import render_backdoor
from leakaudit.core.presets import PRESETS
from leakaudit.core.settings import experiment_settings, flatten, nest, parse_sets


def test_settings_round_trip_through_the_dvc_command_with_their_types():
    sets = parse_sets(["attack.tmi.epochs=40", "replicates.seeds=[4, 5]",
                           "finetune.mode=full", "query.top_k=0"])
    assert sets == {"attack.tmi.epochs": 40, "replicates.seeds": [4, 5],
                    "finetune.mode": "full", "query.top_k": 0}
    cmd = cli.run_command("tmi", sets, "my-exp")
    assert cmd[:5] == ["dvc", "exp", "run", "--name", "my-exp"]
    parsed = dict(a.split("=", 1) for a in cmd[6::2])
    assert {k: yaml.safe_load(v) for k, v in parsed.items()} == sets  # what DVC will read
    assert cli.run_command("tmi", {}, None) == ["dvc", "repro"]
    assert nest(flatten({"a": {"b": 1, "c": [1]}, "d": "x"})) == {
        "a": {"b": 1, "c": [1]}, "d": "x"}
    with pytest.raises(SystemExit, match="allowed: dotted.key=value"):
        parse_sets(["novalue"])


def test_a_preset_run_sets_every_preset_key_and_validates_first():
    preset = yaml.safe_load((PRESETS / "backdoor-vision-tiny.yaml").read_text())
    settings = experiment_settings("backdoor-vision", "backdoor-vision-tiny",
                                       {"victims.n_victims": 4})
    assert nest(settings) == nest(flatten(preset) | {"victims.n_victims": 4})
    with pytest.raises(SystemExit, match="--preset: got 'nope'; allowed: .*tiny"):
        experiment_settings("tmi", "nope", {})


def test_bad_settings_fail_before_dvc_with_the_dotted_key(capsys):
    assert cli.main(["run", "--set", "finetune.mode=deep", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "--set finetune.mode: finetune.mode:" in err and "allowed: 'linear_probe'" in err
    assert cli.main(["run", "--pipeline", "backdoor", "--set", "victims.n_victims=3",
                     "--dry-run"]) == 2
    assert "victims.n_victims: got 3; allowed: an even number" in capsys.readouterr().err
    assert cli.main(["run", "--pipeline", "backdoor", "--set", "victims.n_victims=6",
                     "--dry-run"]) == 0
    assert "(backdoor) dvc exp run --set-param victims.n_victims=6" in capsys.readouterr().out


def test_backdoor_report_puts_best_first_and_never_prints_thin_evidence():
    def arm(auc, tpr, negatives):
        m = {"auc": auc, "auc_low": auc - 0.01, "auc_high": auc + 0.01}
        key = "tpr_at_1pct_fpr" + ("" if negatives >= 20 else "_unreliable")
        return m | {key: tpr, "tpr_at_1pct_fpr_low": 0.0, "tpr_at_1pct_fpr_high": 0.5,
                    "tpr_at_1pct_fpr_negatives": negatives}

    metrics = {"amplification:best": {"auc_diff": 0.2, "auc_diff_low": 0.1, "auc_diff_high": 0.3},
               "clean:best": arm(0.6, 0.05, 60), "poisoned:best": arm(0.8, 0.25, 60),
               "amplification:neg_loss": {}, "clean:neg_loss": arm(0.55, 0.3, 5),
               "poisoned:neg_loss": arm(0.7, 0.4, 5),
               "stealth": {"vs_base.heldout_loss_increase": 0.012, "base.heldout_loss": 0.3}}
    lines = render_backdoor(json.loads(json.dumps(metrics))).splitlines()
    assert lines[1].startswith("best") and "0.800 [0.790, 0.810]" in lines[1]
    assert "0.250 [0.000, 0.500] (60 neg)" in lines[1]
    assert lines[2].startswith("neg_loss") and "n/a: 5 neg < 20" in lines[2]
    assert "0.300" not in lines[2]  # the thin TPR is not printed as a number
    assert lines[-1] == "stealth, poisoned vs base: heldout_loss_increase +0.0120"


def test_the_index_lists_reports_runs_and_sweeps(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leakaudit.core.report_index import index_html

    (tmp_path / "report.html").write_text("<html></html>")
    (tmp_path / "params.yaml").write_text("tracking: {uri: 'sqlite:///mlflow.db'}\n")
    ev = tmp_path / "outputs/evaluate"
    ev.mkdir(parents=True)
    (ev / "mlflow.json").write_text(json.dumps({"mlflow_run_id": "abc123"}))
    sweeps = tmp_path / "backdoor-vision/sweeps"
    (sweeps / "tables").mkdir(parents=True)
    (sweeps / "plots").mkdir()
    (sweeps / "tables/poison.alpha.csv").write_text("poison.alpha,ratio\n0.1,1.5\n0.3,2.6\n")
    plt.plot([0, 1]), plt.savefig(sweeps / "plots/poison.alpha.png"), plt.close()
    page = index_html(tmp_path, tmp_path / "reports")
    assert '<a href="../report.html">' in page  # relative to the index's folder
    assert "<code>abc123</code> <small>(sqlite:///mlflow.db)</small>" in page
    assert "not run yet" in page  # the backdoor pipelines have no report here
    assert "<td>0.3</td><td>2.6</td>" in page and 'src="data:image/png;base64,' in page
