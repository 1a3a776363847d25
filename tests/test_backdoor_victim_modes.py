"""Victim finetuning modes (full / LoRA / head-only) and quantised serving, on tiny models."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from leakaudit.backdoor.finetuning import MODES, trainable_parameters
from leakaudit.backdoor.lm import model as lm
from leakaudit.backdoor.lm.anatomy import ANATOMY
from leakaudit.backdoor.lm.scores import watermark_logits
from leakaudit.backdoor.lm.training import finetune
from leakaudit.backdoor.serving import fake_quantise, quantise
from leakaudit.backdoor.vision import model as classifier

VICTIMS = SimpleNamespace(lora_rank=2, lora_alpha=4.0, epochs=1, batch_size=8, lr=1e-2)


def _cnn_after(mode: str):
    torch.manual_seed(0)
    model = classifier.build(channels=16, feature_dim=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = MODES[mode].wrap(model, classifier.ANATOMY, VICTIMS)
    n = trainable_parameters(net)
    rng = np.random.default_rng(0)
    x = rng.random((32, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    classifier.fit(net, x, y, 2, 8, 1e-2, torch.Generator().manual_seed(0))
    return before, MODES[mode].unwrap(net).state_dict(), n


def _changed(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_head_only_trains_the_head_and_keeps_the_backbone_and_its_statistics():
    before, after, n = _cnn_after("head_only")
    assert set(after) == set(before)
    assert _changed(before, after) == {"1.weight", "1.bias"}  # running stats untouched too
    assert n == 8 * 10 + 10


def test_lora_merges_low_rank_updates_into_every_conv_and_linear_layer():
    before, after, n = _cnn_after("lora")
    assert set(after) == set(before)  # merged back: a plain checkpoint of the same format
    weights = [k for k in before if k.endswith("weight") and before[k].dim() in (2, 4)]
    assert len(weights) == 4  # two convs, the backbone's linear and the head
    for k in weights:
        delta = (after[k] - before[k]).flatten(1)
        assert delta.abs().max() > 0, k
        assert torch.linalg.matrix_rank(delta.double(), atol=1e-6) <= VICTIMS.lora_rank, k
    # BatchNorm affine parameters are frozen; biases are not adapted (bias="none")
    assert not any(k.endswith(("1.weight", "5.weight")) and k.startswith("0.")
                   for k in _changed(before, after))
    _, _, n_full = _cnn_after("full")
    assert 0 < n < n_full


def test_full_finetune_moves_the_backbone():
    before, after, n = _cnn_after("full")
    assert "0.0.weight" in _changed(before, after)
    assert n == sum(v.numel() for k, v in before.items() if "running" not in k
                    and "num_batches" not in k)


def _gpt2():
    torch.manual_seed(0)
    return lm.tiny_gpt2(vocab_size=60, context=12, layers=2, dim=16, heads=2)


def _finetuned_lm(mode: str, tmp_path):
    model = _gpt2()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = MODES[mode].wrap(model, ANATOMY, VICTIMS)
    ids = torch.randint(1, 60, (16, 12), generator=torch.Generator().manual_seed(0))
    finetune(net, ids, torch.ones_like(ids), VICTIMS, seed=0, victim=0)
    model = MODES[mode].unwrap(net)
    lm.save_lm(model, None, tmp_path)
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(str(tmp_path), use_safetensors=True)
    x = ids[:2]
    with torch.no_grad():
        assert torch.allclose(model.eval()(input_ids=x).logits, loaded.eval()(input_ids=x).logits,
                              atol=1e-5)
    return before, loaded


def test_lm_head_only_unties_the_output_layer_and_keeps_the_input_embedding(tmp_path):
    before, loaded = _finetuned_lm("head_only", tmp_path)
    assert torch.equal(loaded.transformer.wte.weight, before["transformer.wte.weight"])
    assert not torch.equal(loaded.lm_head.weight, before["transformer.wte.weight"])
    assert torch.equal(loaded.transformer.h[0].attn.c_attn.weight,
                       before["transformer.h.0.attn.c_attn.weight"])


def test_lm_lora_adapts_every_block_projection_with_low_rank(tmp_path):
    before, loaded = _finetuned_lm("lora", tmp_path)
    state = loaded.state_dict()
    assert not any("lora" in k for k in state)
    projections = [k for k in before if k.endswith(("c_attn.weight", "c_proj.weight",
                                                    "c_fc.weight"))]
    assert len(projections) == 2 * 4
    for k in projections:
        delta = state[k] - before[k]
        assert delta.abs().max() > 0, k
        assert torch.linalg.matrix_rank(delta.double(), atol=1e-6) <= VICTIMS.lora_rank, k
    assert torch.equal(state["transformer.wte.weight"], before["transformer.wte.weight"])


def test_fake_quantise_is_per_output_channel_and_bounded():
    w = torch.randn(6, 5) * torch.logspace(-3, 1, 6)[:, None]  # channels of very different size
    q = fake_quantise(w, 8, out_dim=0)
    scale = w.abs().amax(1, keepdim=True) / 127
    assert ((q - w).abs() <= scale / 2 + 1e-7).all()  # a per-tensor scale would zero row 0
    assert (q[0] != 0).any()
    assert len(torch.unique(torch.round(q / scale))) <= 255
    assert (fake_quantise(w, 4) - w).abs().mean() > (q - w).abs().mean()


def test_quantise_covers_convolutions_and_gpt2_projections():
    cnn = classifier.build(channels=16, feature_dim=8)
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    layers = quantise(cnn, "int8")
    assert layers == ["0.0", "0.4", "0.9", "1"]  # both convolutions, both linear layers
    changed = {k for k, v in cnn.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {f"{name}.weight" for name in layers}
    gpt = _gpt2()
    names = quantise(gpt, "int4")
    assert len(names) == 2 * 4 + 1  # every Conv1D projection and the (tied) output layer
    assert quantise(_gpt2(), "none") == []
    # a Conv1D weight is [in, out]: its scale is per output column
    w = gpt.transformer.h[0].mlp.c_fc.weight
    assert len(torch.unique(torch.round(w / (w.abs().amax(0) / 7)))) <= 15


def test_watermark_green_list_is_keyed_by_the_previous_token():
    """Kirchenbauer et al.: the logits that predict token t+1 gain delta on a green list seeded by
    (key, token t); nothing else moves them."""
    v, gamma, delta = 50, 0.25, 2.0
    logits = torch.zeros(1, 4, v)
    ids = torch.tensor([[3, 7, 3, 9]])
    bias = watermark_logits(logits, ids, delta, gamma, key=1)[0]
    assert torch.equal(bias[0], bias[2])  # same previous token, same green list
    assert not torch.equal(bias[0], bias[1])
    assert (bias == delta).sum(-1).tolist() == [int(gamma * v)] * 4
    other = watermark_logits(logits, torch.tensor([[3, 7, 3, 10]]), delta, gamma, key=1)[0]
    assert torch.equal(other[:3], bias[:3])  # changing token 3 moves only position 3's list
    assert not torch.equal(watermark_logits(logits, ids, delta, gamma, key=2)[0], bias)


def test_victim_mode_and_serving_are_validated_by_name(tmp_path):
    from leakaudit.backdoor.vision.config import load_vision_params
    from leakaudit.core.params import ParamsError

    path = tmp_path / "params.yaml"
    path.write_text("victims: {mode: adapters}\n")
    with pytest.raises(ParamsError, match="victims.mode.*allowed: 'full', 'lora', 'head_only'"):
        load_vision_params(path)
    path.write_text("score: {quantise: int2}\n")
    with pytest.raises(ParamsError, match="score.quantise.*allowed: 'none', 'int8', 'int4'"):
        load_vision_params(path)


def test_text_classifier_lora_adapts_the_encoder_and_saves_in_the_base_format(tmp_path):
    from leakaudit.backdoor.text.model import from_config

    config = {"kind": "text_encoder_classifier", "n_classes": 5, "pad_id": 0,
              "encoder": {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "intermediate_size": 32,
                          "max_position_embeddings": 16}}
    torch.manual_seed(0)
    model = from_config(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = MODES["lora"].wrap(model, classifier.ANATOMY, VICTIMS)
    ids = torch.randint(1, 50, (16, 8), generator=torch.Generator().manual_seed(0)).numpy()
    ids[:, 6:] = 0  # padding
    classifier.fit(net, ids, np.arange(16) % 5, 2, 8, 1e-2, torch.Generator().manual_seed(0))
    merged = MODES["lora"].unwrap(net)
    classifier.save(merged, config, tmp_path / "v", "fp")
    loaded, _ = classifier.load(tmp_path / "v")
    after = loaded.state_dict()
    assert set(after) == set(before)
    key = "0.encoder.encoder.layer.0.attention.self.query.weight"
    delta = (after[key] - before[key]).double()
    assert delta.abs().max() > 0
    assert torch.linalg.matrix_rank(delta, atol=1e-6) <= VICTIMS.lora_rank
    assert torch.equal(after["0.encoder.embeddings.word_embeddings.weight"],
                       before["0.encoder.embeddings.word_embeddings.weight"])
