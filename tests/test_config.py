from pathlib import Path

import pytest
import yaml

from leakaudit.core.params import ParamsError
from leakaudit.core.registry import PIPELINES
from leakaudit.tmi.params import load_params, parse_params

ROOT = Path(__file__).resolve().parent.parent


def _keys(d: dict, prefix: str = "") -> set[str]:
    return {k for key, v in d.items() for k in (
        _keys(v, f"{prefix}{key}.") if isinstance(v, dict) and v else {prefix + key})}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_params_yaml_lists_every_key_of_its_model(name):
    """DVC tracks the keys a params file names: a key the model has but the file lacks (or a
    leftover the model no longer has) would change results without DVC noticing."""
    pipe = PIPELINES[name]
    raw = yaml.safe_load(pipe.params_file(ROOT).read_text())
    params = pipe.load(pipe.params_file(ROOT))
    expected = _keys(params.model_dump()) - ({"base.seed"} if name == "tmi" else set())
    assert _keys(raw) == expected


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ParamsError) as e:
        parse_params({"prepare": {"n_modles": 4}})
    msg = str(e.value)
    assert "prepare.n_modles" in msg and "unknown key" in msg and "n_models" in msg


def test_unknown_section_is_rejected():
    with pytest.raises(ParamsError, match="bogus"):
        parse_params({"bogus": {}})


def test_bad_choice_lists_allowed_values():
    with pytest.raises(ParamsError) as e:
        parse_params({"finetune": {"mode": "deep"}})
    assert "finetune.mode" in str(e.value) and "'linear_probe'" in str(e.value)


def test_bad_number_names_key_and_bound():
    with pytest.raises(ParamsError) as e:
        parse_params({"pretrain": {"epochs": 0}})
    assert "pretrain.epochs" in str(e.value) and "ge 1" in str(e.value)


def test_cross_field_rules():
    with pytest.raises(ParamsError, match="prepare.n_models"):
        parse_params({"prepare": {"n_models": 5}})
    with pytest.raises(ParamsError, match="attack.n_victims"):
        parse_params({"prepare": {"n_models": 4}, "attack": {"n_victims": 6}})
    with pytest.raises(ParamsError, match="attack.n_victims.*pairs"):
        parse_params({"attack": {"n_victims": 5}})
    with pytest.raises(ParamsError, match="attack.n_shadows"):
        parse_params({"attack": {"n_shadows": 7}})
    with pytest.raises(ParamsError, match="prepare.n_challenge"):
        parse_params({"prepare": {"n_pool": 10, "n_challenge": 20}})
    # caught by the params check, before any stage runs (not in the attack stage)
    with pytest.raises(ParamsError, match=r"attack.n_views: got 9; allowed: 0 \(all\) or ≤ "
                       r"query.n_views \(8\)"):
        parse_params({"attack": {"n_views": 9}, "query": {"n_views": 8}})


def test_load_params_file(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump({"replicates": {"seeds": [3, 4]}}))
    p = load_params(f)
    assert p.replicates.seeds == [3, 4]
    one = p.for_replicate(4)
    assert one.base.seed == 4 and one.replicates.seeds == [4]
    f.write_text(yaml.safe_dump({"base": {"seed": 3}}))
    with pytest.raises(ParamsError, match="base.seed.*replicates.seeds"):
        load_params(f)
    for bad in ([], [1, 1], [-1]):
        f.write_text(yaml.safe_dump({"replicates": {"seeds": bad}}))
        with pytest.raises(ParamsError, match="replicates.seeds"):
            load_params(f)
    f.write_text("- a\n- b\n")
    with pytest.raises(ParamsError, match="mapping"):
        load_params(f)


def test_validating_params_and_the_light_stages_never_load_torch():
    """The params check, prepare, evaluate, report and the CLI start without torch (about
    0.7 s of every such process): attack settings live apart from their torch code."""
    import subprocess
    import sys

    for module in ("leakaudit.tmi.params", "tasks.prepare", "tasks.evaluate", "tasks.report",
                   "leakaudit.cli"):
        code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
        assert subprocess.run([sys.executable, "-c", code]).returncode == 0, module
