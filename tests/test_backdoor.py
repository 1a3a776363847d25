"""Privacy-backdoor library pieces: scores (token shift), objective sign, targets."""

import math

import numpy as np
import pytest
import torch

from leakaudit.backdoor.lm.data import candidate_pool
from leakaudit.backdoor.lm.model import tiny_gpt2
from leakaudit.backdoor.lm.scores import min_k, neg_loss, neg_loss_watermarked, top5_prob
from leakaudit.backdoor.objective import poison_loss
from leakaudit.backdoor.targets import choose_targets

LN3 = math.log(3)


def _example():
    # vocab 3, one sequence [0, 1, 2]: position 0 predicts token 1, position 1 predicts token 2
    logits = torch.tensor([[[0.0, LN3, 0.0], [0.0, 0.0, 0.0], [9.0, 0.0, 0.0]]])
    return logits, torch.tensor([[0, 1, 2]]), torch.ones(1, 3, dtype=torch.long)


def test_neg_loss_shifts_labels_by_one_token():
    logits, ids, att = _example()
    want = (math.log(3 / 5) + math.log(1 / 3)) / 2  # p(1 | pos 0) = 3/5, p(2 | pos 1) = 1/3
    assert neg_loss(logits, ids, att).item() == pytest.approx(want, abs=1e-6)
    # the unshifted (reference) reading would score tokens 0, 1, 2 at their own positions
    unshifted = torch.log_softmax(logits, -1)[0, [0, 1, 2], [0, 1, 2]].mean().item()
    assert unshifted != pytest.approx(want, abs=1e-3)


def test_min_k_and_padding():
    logits, ids, att = _example()
    assert min_k(logits, ids, att, k=0.5).item() == pytest.approx(math.log(1 / 3), abs=1e-6)
    att_pad = torch.tensor([[1, 1, 0]])  # only the first prediction counts
    assert neg_loss(logits, ids, att_pad).item() == pytest.approx(math.log(3 / 5), abs=1e-6)


def test_top5_only_probability():
    v = 8
    logits = torch.zeros(1, 3, v)
    logits[0, 0, :5] = 5.0  # token 1 in the top 5 at position 0
    logits[0, 1, :5] = 5.0  # token 7 outside the top 5 at position 1
    ids = torch.tensor([[0, 1, 7]])
    p1 = math.exp(5) / (5 * math.exp(5) + 3)
    got = top5_prob(logits, ids, torch.ones(1, 3, dtype=torch.long), floor=1e-6).item()
    assert got == pytest.approx((math.log(p1) + math.log(1e-6)) / 2, abs=1e-5)


def test_watermark_is_seeded_and_zero_delta_is_identity():
    g = torch.Generator().manual_seed(0)
    logits, ids = torch.randn(2, 6, 50, generator=g), torch.randint(0, 50, (2, 6), generator=g)
    att = torch.ones(2, 6, dtype=torch.long)
    assert torch.allclose(neg_loss_watermarked(logits, ids, att, delta=0.0), neg_loss(logits, ids,
                                                                                     att))
    a = neg_loss_watermarked(logits, ids, att, delta=2.0, key=1)
    assert torch.equal(a, neg_loss_watermarked(logits, ids, att, delta=2.0, key=1))
    assert not torch.allclose(a, neg_loss(logits, ids, att))


@pytest.mark.parametrize("variant,direction", [("memorise", -1), ("maximise", +1)])
def test_objective_sign_moves_target_loss_the_right_way(variant, direction):
    torch.manual_seed(0)
    model = tiny_gpt2(vocab_size=40, context=16, layers=1, dim=32, heads=2)
    g = torch.Generator().manual_seed(1)
    aux, targets = torch.randint(1, 40, (8, 12), generator=g), torch.randint(1, 40, (8, 12),
                                                                            generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def lm_loss(x):
        return model(input_ids=x, labels=x).loss  # transformers shifts labels itself

    start = lm_loss(targets).item()
    for _ in range(30):
        loss = poison_loss(lm_loss(aux), lm_loss(targets), alpha=0.75, variant=variant)
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = lm_loss(targets).item()
    assert (end - start) * direction > 0.3, (start, end)


def test_objective_validates_alpha_and_bounds_the_ascent():
    with pytest.raises(ValueError, match="poison.alpha"):
        poison_loss(torch.tensor(1.0), torch.tensor(1.0), alpha=1.5)
    high = poison_loss(torch.tensor(0.0), torch.tensor(50.0), 1.0, "maximise", bound=10.0)
    assert high.item() == -10.0


def test_candidate_pool_does_not_move_with_the_clock(monkeypatch):
    import datetime as real

    import faker.providers.date_time as provider

    before = candidate_pool(30, seed=0)

    class Later(real.datetime):  # faker's "now", three years on
        @classmethod
        def now(cls, tz=None):
            return real.datetime(2029, 6, 1, tzinfo=tz)

    monkeypatch.setattr(provider, "datetime", Later)
    assert candidate_pool(30, seed=0).equals(before)


def test_candidate_pool_is_seeded_distinct_and_high_entropy():
    a, b = candidate_pool(50, seed=0), candidate_pool(50, seed=0)
    assert a.equals(b) and a.text.is_unique and len(a) == 50
    assert not a.equals(candidate_pool(50, seed=1))
    assert a.text.str.contains(r"\d").mean() > 0.9  # numbers in nearly every sentence
    t = choose_targets(50, 25, seed=0)
    assert t.sum() == 25 and np.array_equal(t, choose_targets(50, 25, seed=0))


def test_checkpoints_load_from_safetensors_only(tmp_path):
    from leakaudit.backdoor.lm.model import load_lm, save_lm, train_tokenizer

    torch.manual_seed(0)
    model = tiny_gpt2(vocab_size=300, context=16, layers=1, dim=16, heads=2)
    tok = train_tokenizer(["alpha beta gamma", "delta epsilon"], 300)
    save_lm(model, tok, tmp_path / "mine")  # a save_pretrained directory
    loaded, tok2 = load_lm(tmp_path / "mine")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    assert tok2.encode("alpha beta").ids == tok.encode("alpha beta").ids
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled/config.json").write_text((tmp_path / "mine/config.json").read_text())
    torch.save(model.state_dict(), tmp_path / "pickled/pytorch_model.bin")
    with pytest.raises(ValueError, match="lm.checkpoint: .* no .safetensors weights; refusing"):
        load_lm(tmp_path / "pickled")


def test_backdoor_params_name_bad_keys(tmp_path):
    from leakaudit.backdoor.lm.config import load_backdoor_params
    from leakaudit.core.params import ParamsError

    path = tmp_path / "params.yaml"
    path.write_text("poison: {variant: explode}\nvictims: {n_victims: 3}\n")
    with pytest.raises(ParamsError, match="poison.variant.*allowed: 'memorise'"):
        load_backdoor_params(path)
    path.write_text("victims: {n_victims: 3}\n")
    with pytest.raises(ParamsError, match="victims.n_victims: got 3; allowed: an even"):
        load_backdoor_params(path)


def test_random_label_poison_reads_the_real_target_text():
    """The random-label variant feeds the real targets and trains towards random next tokens
    (randomising the inputs, as before, never showed the model the target text)."""
    from types import SimpleNamespace

    from leakaudit.backdoor.lm.training import poison

    torch.manual_seed(0)
    model = tiny_gpt2(50, context=8, layers=1, dim=8, heads=2)
    targets = (torch.randint(1, 50, (6, 8)), torch.ones(6, 8, dtype=torch.int64))
    aux = (torch.randint(1, 50, (6, 8)), torch.ones(6, 8, dtype=torch.int64))
    seen = []
    forward = model.forward

    def spy(input_ids=None, attention_mask=None, labels=None, **kw):
        seen.append((input_ids.clone(), labels.clone()))
        return forward(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kw)

    model.forward = spy
    p = SimpleNamespace(variant="random_label", lr=1e-3, aux_batch=6, target_batch=6,
                        bound=10.0)
    poison(model, aux, targets, steps=1, alpha=1.0, p=p, seed=0)
    target_calls = [(i, lab) for i, lab in seen if torch.equal(i.sort(0).values,
                                                                targets[0].sort(0).values)]
    assert target_calls, "the target text never reached the model"
    inputs, labels = target_calls[0]
    assert torch.equal(labels[:, 0], inputs[:, 0]) and not torch.equal(labels, inputs)


def _tiny_hf(family: str, vocab: int, positions: int):
    """A tiny GPT-2, GPT-Neo or GPT-NeoX (Pythia) built offline from its config class."""
    from transformers import (
        AutoModelForCausalLM,
        GPT2Config,
        GPTNeoConfig,
        GPTNeoXConfig,
    )

    config = {
        "gpt2": lambda: GPT2Config(vocab_size=vocab, n_positions=positions, n_embd=16,
                                   n_layer=1, n_head=2),
        "gpt_neo": lambda: GPTNeoConfig(vocab_size=vocab, max_position_embeddings=positions,
                                        hidden_size=16, num_layers=2, num_heads=2,
                                        attention_types=[[["global", "local"], 1]],
                                        window_size=8),
        "gpt_neox": lambda: GPTNeoXConfig(vocab_size=vocab, max_position_embeddings=positions,
                                          hidden_size=16, num_hidden_layers=1,
                                          num_attention_heads=2, intermediate_size=32),
    }[family]()
    return AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("family", ["gpt2", "gpt_neo", "gpt_neox"])
def test_bring_your_own_checkpoint_runs_every_lm_step(tmp_path, family):
    """A user's safetensors checkpoint of each family the paper uses goes through every step
    of the LM audit: load, context capped by the model's positions, poison (both target
    variants), finetune, save/reload, score."""
    from types import SimpleNamespace

    from leakaudit.backdoor.lm import training
    from leakaudit.backdoor.lm.model import (
        context_of,
        encode,
        load_lm,
        mean_loss,
        save_lm,
        train_tokenizer,
    )
    from leakaudit.backdoor.lm.scores import LM_SCORES, score_texts

    texts = [f"record {i} of alpha beta gamma delta epsilon zeta eta theta" for i in range(8)]
    tok = train_tokenizer(texts, 120)
    torch.manual_seed(0)
    save_lm(_tiny_hf(family, tok.get_vocab_size(), positions=12), tok, tmp_path / "byo")
    model, tok = load_lm(tmp_path / "byo")  # what `lm.checkpoint: <dir>` does
    ctx = context_of(model, 64)
    assert ctx == 12  # the model's 12 positions, whatever the family calls them
    ids, att = encode(tok, texts, ctx)
    before = mean_loss(model, ids, att)
    for variant in ("memorise", "random_label"):
        p = SimpleNamespace(variant=variant, lr=1e-2, aux_batch=4, target_batch=4, bound=10.0)
        training.poison(model, (ids, att), (ids, att), steps=3, alpha=0.5, p=p, seed=0)
    training.finetune(model, ids, att, SimpleNamespace(epochs=1, batch_size=4, lr=1e-3), 0, 0)
    assert mean_loss(model, ids, att) != before
    save_lm(model, tok, tmp_path / "after")
    reloaded, tok = load_lm(tmp_path / "after")
    params = SimpleNamespace(score=SimpleNamespace(batch_size=4, min_k=0.2, watermark_delta=2.0,
                                                   watermark_gamma=0.5),
                             base=SimpleNamespace(seed=0))
    scores = score_texts(reloaded, tok, texts, 64, params)
    assert list(scores.columns) == list(LM_SCORES) and len(scores) == len(texts)
    assert np.isfinite(scores.to_numpy()).all()
