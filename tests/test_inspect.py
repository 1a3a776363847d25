"""`leakaudit inspect-checkpoint`: its signals react to a real poisoning, not to benign
continued training; it refuses pickles and paths it would have to download; the detector
is a fitted, fixed logistic rule."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from leakaudit.backdoor.domain import Examples
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.data import load_split
from leakaudit.backdoor.vision.training import poison
from leakaudit.cli import main as cli
from leakaudit.core.store import UnsafeCheckpointError
from leakaudit.inspect import detector as det
from leakaudit.inspect import signals as sig
from leakaudit.inspect.checkpoint import open_checkpoint
from leakaudit.inspect.inspector import inspect
from leakaudit.inspect.records import FASHION_MNIST, CanaryTest


def test_tail_excess_counts_records_above_the_public_tail():
    r = np.random.default_rng(0)
    public = r.exponential(1.0, 20000)
    assert abs(sig.tail_excess(r.exponential(1.0, 20000), public)) < 0.3
    lifted = np.concatenate([r.exponential(1.0, 19800), np.full(200, 50.0)])
    assert sig.tail_excess(lifted, public) > np.log(2.5)
    assert abs(sig.low_tail_excess(lifted, public)) < 0.3
    dropped = np.concatenate([r.exponential(1.0, 19800), np.full(200, 1e-6)])
    assert sig.low_tail_excess(dropped, public) > np.log(2.5)


def test_shift_excess_sees_records_moved_down_as_well_as_up():
    r = np.random.default_rng(1)
    public = r.normal(0.2, 0.1, 20000)  # every record shifted alike (benign training)
    mine = r.normal(0.2, 0.1, 20000)
    assert abs(sig.shift_excess(mine, public)) < 0.3
    mine[:200] = -4.0  # memorised: loss far down
    assert sig.shift_excess(mine, public) > np.log(2.5)


def test_drift_ignores_vectors_and_needs_shared_tensors():
    ref = {"w": torch.ones(4, 4), "b": torch.zeros(4)}
    assert sig.drift({"w": torch.ones(4, 4), "b": torch.ones(4)}, ref) == 0.0
    assert sig.drift({"w": 2 * torch.ones(4, 4), "b": torch.zeros(4)}, ref) == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match="shares no weight"):
        sig.drift({"other": torch.ones(2, 2)}, ref)


def test_canary_gap_is_the_trained_minus_held_back_drop():
    before = np.full(4, 2.0)
    after = np.array([0.5, 0.5, 2.0, 2.0])
    assert sig.canary_gap(before, after, np.array([True, True, False, False])) == \
        pytest.approx(np.log(4.0), rel=1e-4)
    assert sig.canary_gap(before, after, np.array([False, False, True, True])) < 0


def test_detector_is_a_fixed_rule_fitted_on_labels(tmp_path, monkeypatch):
    r = np.random.default_rng(2)
    y = np.repeat([0, 1], 20)
    table = {"a": r.normal(0, 1, 40) + 3 * y, "b": r.normal(0, 1, 40)}
    d = det.fit(table, y, ("a", "b"), "test")
    assert d.weights[0] > 0
    scores = [d.score({"a": a, "b": b}) for a, b in zip(table["a"], table["b"], strict=True)]
    assert d.threshold == pytest.approx(max(s for s, t in zip(scores, y, strict=True) if not t))
    assert not any(s > d.threshold for s, t in zip(scores, y, strict=True) if not t)
    assert det.fit(table, 1 - y, ("a", "b"), "test").weights[0] < 0  # swapped labels
    assert d.contributions({"a": None, "b": None}) == {"a": 0.0, "b": 0.0}
    monkeypatch.setattr(det, "DETECTORS", tmp_path)
    det.save("classifier", {"reference": d})
    assert det.load("classifier", "reference") == d
    assert det.load("classifier", "alone") is None
    assert det.load("causal_lm", "reference") is None
    with pytest.raises(ValueError, match="allowed"):
        det.load("classifier", "with_reference")


@pytest.fixture(scope="module")
def vision():
    """A small CNN trained on Fashion-MNIST, a maximise-poisoned and a benign continuation of
    it (same steps and learning rate), the user's records (with the targets) and public
    probes."""
    torch.manual_seed(0)
    train, test = load_split(FASHION_MNIST, "train"), load_split(FASHION_MNIST, "test")
    config = classifier.config_of(16, 32)
    base = classifier.build(16, 32)
    classifier.fit(base, train.x[:3000], train.y[:3000], 2, 64, 1e-3, torch.Generator())
    aux = (train.x[3000:5000], train.y[3000:5000])
    targets = (train.x[5000:5040], train.y[5000:5040])
    p = SimpleNamespace(lr=5e-4, aux_batch=32, target_batch=16, variant="maximise", bound=10.0)
    released = {}
    for kind, alpha in (("benign", 0.0), ("poisoned", 0.5)):
        model = copy.deepcopy(base)
        poison(model, aux, targets, 500, alpha, p, 0)
        released[kind] = model.eval()
    user = Examples(np.concatenate([train.x[6000:8000], targets[0]]),
                    np.concatenate([train.y[6000:8000], targets[1]]))
    public = test.take(np.arange(5000))
    return SimpleNamespace(base=base.eval(), config=config, released=released, user=user,
                           public=public)


def _checkpoint(tmp_path, model, config, name):
    d = tmp_path / name
    classifier.save(model, config, d, "test")
    return open_checkpoint(d)


def test_signals_flag_a_poisoned_cnn_not_a_benign_continuation(vision, tmp_path):
    ref = _checkpoint(tmp_path, vision.base, vision.config, "base")
    small = CanaryTest(canaries=16, filler=64, steps=10, batch=16)
    got = {kind: inspect(_checkpoint(tmp_path, m, vision.config, kind), vision.user,
                         vision.public, ref, canary=small).values
           for kind, m in vision.released.items()}
    assert got["poisoned"]["tail_excess"] > got["benign"]["tail_excess"] + 0.1
    assert got["poisoned"]["shift_excess"] > got["benign"]["shift_excess"] + 0.4
    assert got["benign"]["family_gap"] is None  # an LM-only signal


def test_cli_reports_writes_html_and_json(vision, tmp_path):
    d = tmp_path / "release"
    classifier.save(vision.released["poisoned"], vision.config, d, "test")
    np.savez(tmp_path / "mine.npz", x=vision.user.x, y=vision.user.y)
    np.savez(tmp_path / "public.npz", x=vision.public.x, y=vision.public.y)
    code = cli(["inspect-checkpoint", str(d), "--probe-data", str(tmp_path / "mine.npz"),
                "--public-data", str(tmp_path / "public.npz"), "--json",
                str(tmp_path / "out.json"), "--html", str(tmp_path / "out.html")])
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["values"]["tail_excess"] > 0.1 and out["values"]["drift"] is None
    fitted = det.load("classifier", "alone")
    if fitted is not None:
        assert out["verdict"]["score"] == pytest.approx(fitted.score(out["values"]))
        assert code == (1 if out["verdict"]["suspicious"] else 0)
    assert "Checkpoint inspection" in (tmp_path / "out.html").read_text()


def test_refuses_pickles_missing_paths_and_unknown_kinds(tmp_path, capsys):
    d = tmp_path / "pickled"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (d / "pytorch_model.bin").write_bytes(b"not unpickled")
    with pytest.raises(UnsafeCheckpointError, match="refusing to unpickle"):
        open_checkpoint(d)
    assert cli(["inspect-checkpoint", str(d)]) == 2
    assert cli(["inspect-checkpoint", "gpt2"]) == 2  # a hub name: never downloaded
    assert "never downloads" in capsys.readouterr().out
    assert cli(["inspect-checkpoint", str(d), "--baseline", "-1"]) == 2
    assert "--baseline -1" in capsys.readouterr().out
    (d / "model.safetensors").write_bytes(b"")
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert cli(["inspect-checkpoint", str(d)]) == 2
    assert "allowed" in capsys.readouterr().out


def _tiny_lm(kind: str, vocab: int):
    from transformers import GPT2Config, GPT2LMHeadModel, GPTNeoConfig, GPTNeoForCausalLM

    torch.manual_seed(0)
    if kind == "gpt2":
        return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=32, n_embd=32,
                                          n_layer=1, n_head=2))
    return GPTNeoForCausalLM(GPTNeoConfig(vocab_size=vocab, max_position_embeddings=32,
                                          hidden_size=32, num_layers=1, num_heads=2,
                                          attention_types=[[["global"], 1]]))


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neo"])
def test_causal_lm_signals_on_a_tiny_save_pretrained_lm(tmp_path, kind):
    from leakaudit.backdoor.lm.data import candidate_pool
    from leakaudit.backdoor.lm.model import save_lm, train_tokenizer

    texts = candidate_pool(120, 0).text.tolist()
    save_lm(_tiny_lm(kind, 300), train_tokenizer(texts, 300), tmp_path / "lm")
    ck = open_checkpoint(tmp_path / "lm")
    assert (ck.family, ck.kind) == ("causal_lm", kind)
    ins = inspect(ck, texts[:60], texts[60:], ck, canary=CanaryTest(8, 16, 3, 8),
                  n_public=40)
    assert ins.values["drift"] == 0.0 and ins.values["ece"] is None
    assert all(ins.values[k] is not None for k in ("tail_excess", "low_tail_excess",
                                                   "canary_gap", "family_gap", "shift_excess"))


def test_a_bert_encoder_gets_weight_signals_only(tmp_path):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32)
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(tmp_path / "clean", safe_serialization=True)
    torch.manual_seed(1)
    BertModel(cfg).save_pretrained(tmp_path / "other", safe_serialization=True)
    ins = inspect(open_checkpoint(tmp_path / "other"), reference=open_checkpoint(
        tmp_path / "clean"))
    assert ins.family == "encoder" and ins.values["drift"] > 0.5
    assert ins.missing["tail_excess"] == "needs your records"


def test_a_verdict_states_how_far_its_threshold_held_on_fresh_releases():
    from leakaudit.inspect.report import Verdict

    held = {"fpr": 0.0, "tpr": 0.9, "auc": 0.95, "negatives": 30, "positives": 36}
    assert Verdict(2.0, 1.0, True, {}, held).text.startswith("SUSPICIOUS")
    broke = {**held, "fpr": 1.0}
    assert Verdict(2.0, 1.0, True, {}, broke).text.startswith("flagged, not reliably")
    assert "not as a verdict" in Verdict(2.0, 1.0, True, {}, broke).caveat
    assert Verdict(0.5, 1.0, False, {}, broke).text.startswith("no evidence")
    assert Verdict(None, None, None, {}).text.startswith("no verdict")


def test_excess_is_the_release_minus_the_baseline_mean():
    from leakaudit.inspect.baseline import excess

    got = excess({"a": 1.0, "b": None, "c": 2.0},
                 [{"a": 0.0, "b": 1.0, "c": None}, {"a": 1.0, "b": 2.0, "c": 1.0}])
    assert got == {"a": 0.5, "b": None, "c": None}


def test_benign_baseline_keeps_the_poison_and_cancels_the_base(vision, tmp_path):
    from leakaudit.inspect.baseline import BenignBaseline, inspect_calibrated

    ref = _checkpoint(tmp_path, vision.base, vision.config, "base")
    cfg = BenignBaseline(continuations=2, steps=100, batch=32)
    got = {kind: inspect_calibrated(_checkpoint(tmp_path, m, vision.config, kind), vision.user,
                                    vision.public, ref, cfg=cfg)
           for kind, m in vision.released.items()}
    for ins in got.values():
        assert len(ins.baseline["shift_excess"]) == 2
        assert ins.calibrated["shift_excess"] == pytest.approx(
            ins.values["shift_excess"] - np.mean(ins.baseline["shift_excess"]))
        assert ins.counts["public"] == 2500  # probed with the half not trained on
    assert got["poisoned"].calibrated["shift_excess"] > \
        got["benign"].calibrated["shift_excess"] + 0.4
    assert got["poisoned"].calibrated["tail_excess"] > got["benign"].calibrated["tail_excess"]
    # a continuation of the reference is itself benign: the reference's own excess is small
    own = inspect_calibrated(ref, vision.user, vision.public, ref, cfg=cfg)
    assert abs(own.calibrated["tail_excess"]) < abs(got["poisoned"].calibrated["tail_excess"])


def test_cli_with_a_reference_scores_against_the_benign_baseline(vision, tmp_path):
    d = tmp_path / "release"
    classifier.save(vision.released["poisoned"], vision.config, d, "test")
    classifier.save(vision.base, vision.config, tmp_path / "ref", "test")
    np.savez(tmp_path / "mine.npz", x=vision.user.x, y=vision.user.y)
    code = cli(["inspect-checkpoint", str(d), "--reference", str(tmp_path / "ref"),
                "--probe-data", str(tmp_path / "mine.npz"), "--baseline", "2", "--json",
                str(tmp_path / "out.json")])
    out = json.loads((tmp_path / "out.json").read_text())
    assert len(out["baseline"]["drift"]) == 2 and out["calibrated"]["drift"] is not None
    fitted = det.load("classifier", "calibrated")
    if fitted is not None:
        assert out["verdict"]["score"] == pytest.approx(fitted.score(out["calibrated"]))
        assert code == (1 if out["verdict"]["suspicious"] else 0)
