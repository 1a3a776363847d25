import pytest
import yaml

from leakaudit.core.params import ParamsError
from leakaudit.tmi.params import load_params, parse_params


def test_defaults_validate():
    p = parse_params({})
    assert p.prepare.n_models % 2 == 0
    assert p.finetune.mode == "linear_probe"


def test_repo_params_yaml_is_valid():
    load_params("params.yaml")


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
