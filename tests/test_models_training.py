"""Models build for every arch; finetune modes touch exactly the parameters they should."""


import pytest
import torch
import yaml

from leakaudit.core.presets import PRESETS, merge, pipeline_params_file, validate
from leakaudit.tmi.data.views import aligned_views, augment
from leakaudit.tmi.models import build_model
from leakaudit.tmi.params import Augment, DpParams, FinetuneParams, ModelParams, PretrainParams
from leakaudit.tmi.training import finetune, train


@pytest.mark.parametrize("arch,shape", [("mlp", (1, 8, 8)), ("cnn", (1, 28, 28)),
                                        ("resnet", (3, 32, 32))])
def test_every_arch_builds_and_swaps_heads(arch, shape):
    """A new head is seeded by its generator and leaves the backbone as it was."""
    m = build_model(ModelParams(arch=arch, hidden=32, feature_dim=8, resnet_blocks=[1, 1]),
                    shape, 10).eval()  # eval: a forward pass leaves BatchNorm statistics alone
    assert m(torch.zeros(2, *shape)).shape == (2, 10)
    backbone = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    heads = []
    for seed in (0, 0, 1):
        m.replace_head(4, torch.Generator().manual_seed(seed))
        heads.append(m.head.weight.detach().clone())
    assert m(torch.zeros(2, *shape)).shape == (2, 4)
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])
    assert all(torch.equal(v, m.backbone.state_dict()[k]) for k, v in backbone.items())


def _data(shape=(1, 8, 8), n=32, k=3):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, *shape, generator=g), torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize("arch,bn", [("mlp", "adapt"), ("cnn", "adapt"), ("cnn", "frozen")])
def test_linear_probe_changes_only_the_head(arch, bn):
    shape = (1, 8, 8)
    model = build_model(ModelParams(arch=arch, hidden=16, feature_dim=4), shape, 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _data(shape)
    finetune(model, x, y, FinetuneParams(epochs=2, batchnorm=bn), torch.Generator())
    after = model.state_dict()
    for k, v in before.items():
        changed = not torch.equal(v, after[k])
        if k.startswith("head."):
            assert changed, k
        elif "running" in k:  # BatchNorm statistics adapt only in 'adapt' mode
            assert changed == (bn == "adapt"), k
        elif "num_batches" not in k:
            assert not changed, k


def test_full_finetune_changes_the_backbone():
    model = build_model(ModelParams(hidden=16, feature_dim=4), (1, 8, 8), 3)
    w = model.backbone[1].weight.clone()
    x, y = _data()
    finetune(model, x, y, FinetuneParams(mode="full", epochs=2), torch.Generator())
    assert not torch.equal(w, model.backbone[1].weight)


def test_training_is_seeded():
    x, y = _data()
    states = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model(ModelParams(hidden=16, feature_dim=4), (1, 8, 8), 3)
        train(model, x, y, PretrainParams(epochs=3), torch.Generator().manual_seed(5))
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_bf16_autocast_trains_close_to_fp32():
    x, y = _data()
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = build_model(ModelParams(hidden=16, feature_dim=4), (1, 8, 8), 3)
        results[precision] = train(model, x, y, PretrainParams(epochs=100, lr=1e-2),
                                   torch.Generator().manual_seed(5), precision=precision)
    assert abs(results["fp32"].final_loss - results["bf16"].final_loss) < 0.1
    assert results["bf16"].final_loss < 0.5  # it learns


def test_views_aligned_and_in_family():
    x, _ = _data((1, 6, 6), n=5)
    a = Augment(jitter_std=0.1, flip=True, crop_pad=1)
    v1 = aligned_views(x, a, 4, True, torch.Generator().manual_seed(3))
    v2 = aligned_views(x, a, 4, True, torch.Generator().manual_seed(3))
    assert v1.shape == (4, 5, 1, 6, 6) and torch.equal(v1, v2) and torch.equal(v1[0], x)
    assert not torch.equal(v1[1], v1[2])
    assert augment(x, Augment(jitter_std=0.0)).equal(x)


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESETS.glob("*.yaml")))
def test_presets_are_valid_params_and_take_effect(preset):
    """Each preset merged into its pipeline's params.yaml validates, and every value it sets
    is the value the audit then runs with (a merge that dropped a nested key would fail)."""
    from leakaudit.core.presets import for_preset

    over = yaml.safe_load((PRESETS / f"{preset}.yaml").read_text())
    base = yaml.safe_load(pipeline_params_file(preset).read_text())
    validate(preset, merge(base, over), f"preset {preset}")
    params = for_preset(preset).params.model_validate(merge(base, over)).model_dump()

    def leaves(d: dict, prefix: tuple = ()):
        for k, v in d.items():
            yield from leaves(v, (*prefix, k)) if isinstance(v, dict) else [((*prefix, k), v)]

    for path, value in leaves(over):
        got = params
        for k in path:
            got = got[k]
        assert got == value, (preset, path)


def test_last_k_trains_only_the_top_blocks():
    model = build_model(ModelParams(hidden=16, feature_dim=4), (1, 8, 8), 3)
    first, last = model.backbone[1].weight.clone(), model.backbone[3].weight.clone()
    x, y = _data()
    finetune(model, x, y, FinetuneParams(mode="last_k", last_k=1, epochs=2), torch.Generator())
    assert torch.equal(first, model.backbone[1].weight)
    assert not torch.equal(last, model.backbone[3].weight)


def test_dp_linear_probe_honours_the_target_epsilon():
    model = build_model(ModelParams(hidden=16, feature_dim=4), (1, 8, 8), 3)
    x, y = _data(n=200)
    p = FinetuneParams(epochs=3, batch_size=32, dp=DpParams(enabled=True, epsilon=2.0))
    res = finetune(model, x, y, p, torch.Generator().manual_seed(0))
    assert 0 < res.epsilon <= 2.0 * 1.01 and not res.replaced_batchnorm


def test_dp_full_finetune_replaces_batchnorm():
    model = build_model(ModelParams(arch="cnn", hidden=16, feature_dim=4), (1, 8, 8), 3)
    x, y = _data(n=64)
    p = FinetuneParams(mode="full", epochs=1, batch_size=16, dp=DpParams(enabled=True))
    res = finetune(model, x, y, p, torch.Generator().manual_seed(0))
    assert res.replaced_batchnorm and res.model is not None
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in res.model.modules())
    assert res.model(x[:2]).shape == (2, 3)


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
def test_a_models_fingerprint_keys_are_the_keys_its_architecture_reads(arch):
    """ModelParams.used() names what decides a built model: changing any other key builds the
    same weights (so it may safely reuse trained models); changing a used key does not."""
    from leakaudit.tmi.models import build_model
    from leakaudit.tmi.params import ModelParams

    base = ModelParams(arch=arch, hidden=64, feature_dim=4, resnet_blocks=[1, 1])
    other = {"hidden": 96, "feature_dim": 6, "resnet_blocks": [1, 2], "layers": 3,
             "heads": 4}

    def weights(p: ModelParams) -> list[torch.Tensor]:
        torch.manual_seed(0)
        return list(build_model(p, (1, 8, 8), 3).state_dict().values())

    ref = weights(base)
    for key, value in other.items():
        changed = weights(base.model_copy(update={key: value}))
        same = len(changed) == len(ref) and all(
            a.shape == b.shape and torch.equal(a, b) for a, b in zip(changed, ref, strict=False))
        assert same == (key not in base.used()), (arch, key)


def test_the_data_fingerprint_ignores_other_sources_sections():
    from leakaudit.tmi.params import DataParams

    digits = DataParams()
    assert digits.model_copy(update={"huggingface": digits.huggingface.model_copy(
        update={"name": "someone/else"})}).used() == digits.used()
    assert digits.model_copy(update={"digits": digits.digits.model_copy(
        update={"noise_std": 0.1})}).used() != digits.used()
