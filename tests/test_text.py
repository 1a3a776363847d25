"""Text modality: WordNet reader, deterministic tokenisation and views, the text encoder."""


import numpy as np
import pytest
import torch

from leakaudit.core.corpora import read_glosses
from leakaudit.core.params import ParamsError
from leakaudit.tmi.data.tokenize import MASK, PAD, START, encode_bpe, encode_bytes
from leakaudit.tmi.data.views import aligned_views, mask_tokens
from leakaudit.tmi.models import build_model
from leakaudit.tmi.params import Augment, ModelParams, parse_params

LICENCE = "  1 This software and database is being provided to you, the LICENSEE\n"
LINES = {
    "noun": ["00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived",
             "00002137 05 n 01 animal 0 000 | a living organism; \"a dog is an animal\""],
    "verb": ["00001740 29 v 01 breathe 0 000 | draw air into, and expel out of, the lungs"],
    "adj": ["00001740 00 a 01 able 0 000 | having the necessary means or skill"],
    "adv": ["00001837 02 r 01 AD 0 000 | in the Christian era"],
}


@pytest.fixture
def mini_wordnet(tmp_path):
    for pos, lines in LINES.items():
        (tmp_path / f"data.{pos}").write_text(LICENCE + "\n".join(lines) + "\n")
    return tmp_path


def test_read_glosses_labels_and_licence_header(mini_wordnet):
    texts, lex, pos = read_glosses(mini_wordnet)
    assert texts[0] == "that which is perceived" and texts[1].startswith("a living organism")
    assert lex.tolist() == [3, 5, 29, 0, 2] and pos.tolist() == [0, 0, 1, 2, 3]


def test_missing_wordnet_names_the_param_and_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.wordnet.path.*wordnet-base"):
        read_glosses(tmp_path)


def test_tokenisers_are_deterministic_and_padded(mini_wordnet):
    texts, _, _ = read_glosses(mini_wordnet)
    a, vocab = encode_bpe(texts, 12, 300)
    b, _ = encode_bpe(texts, 12, 300)
    assert np.array_equal(a, b) and a.shape == (5, 12) and a.max() < vocab
    assert (a[:, 0] == START).all() and (a[:, -1] != PAD).any()  # long glosses truncate
    ids, v = encode_bytes(["ab"], 5)
    assert ids.tolist() == [[START, ord("a") + 4, ord("b") + 4, PAD, PAD]] and v == 260


def test_token_masking_views_are_seeded_and_spare_padding():
    ids = torch.tensor([[START, 10, 11, 12, PAD, PAD]] * 50)
    a = aligned_views(ids, Augment(token_mask=0.3), 4, True, torch.Generator().manual_seed(1))
    b = aligned_views(ids, Augment(token_mask=0.3), 4, True, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and torch.equal(a[0], ids)  # view 0 is the clean text
    assert ((a[1:] == MASK) == ((a[1:] != ids) & (ids != PAD))).all()
    assert (a[1:, :, 0] == START).all() and (a[1:, :, 4:] == PAD).all()
    frac = (a[1:, :, 1:4] == MASK).float().mean().item()
    assert 0.2 < frac < 0.4
    assert torch.equal(mask_tokens(ids, 0.0), ids)


def test_text_encoder_ignores_padding_and_swaps_heads():
    torch.manual_seed(0)
    m = build_model(ModelParams(arch="transformer", hidden=16, layers=1, heads=2,
                                feature_dim=4), (8,), 45, vocab_size=50)
    m.eval()
    ids = torch.tensor([[START, 7, 8, 9, PAD, PAD, PAD, PAD]])
    longer = torch.tensor([[START, 7, 8, 9, PAD, PAD, PAD, 13]])
    out = m(ids)
    assert out.shape == (1, 45)
    assert not torch.allclose(out, m(longer))
    # padding is invisible: the same text padded differently gives the same output
    m2 = build_model(ModelParams(arch="transformer", hidden=16, layers=1, heads=2,
                                 feature_dim=4), (4,), 45, vocab_size=50)
    m2.load_state_dict({k: v[:4] if k.endswith("position_embeddings.weight") else v
                        for k, v in m.state_dict().items()})
    m2.eval()
    assert torch.allclose(m2(ids[:, :4]), out, atol=1e-5)
    m.replace_head(4, torch.Generator().manual_seed(0))
    assert m(ids).shape == (1, 4)


def test_modality_mismatches_name_the_key_and_allowed_values():
    with pytest.raises(ParamsError, match="model.arch: got 'mlp' with data.modality 'text'"):
        parse_params({"data": {"modality": "text", "source": "wordnet"}})
    with pytest.raises(ParamsError, match="data.source: got 'digits'.*allowed: 'wordnet'"):
        parse_params({"data": {"modality": "text"}, "model": {"arch": "transformer"}})
    with pytest.raises(ParamsError, match="model.heads"):
        parse_params({"data": {"modality": "text", "source": "wordnet"},
                      "model": {"arch": "transformer", "hidden": 30, "heads": 4}})


def test_mlm_batch_masks_only_real_tokens_and_keeps_targets():
    from leakaudit.tmi.mlm import IGNORE, mlm_batch

    ids = torch.tensor([[START, 10, 11, 12, 13, PAD, PAD, PAD]] * 200)
    inputs, targets = mlm_batch(ids, 0.5, torch.Generator().manual_seed(0))
    chosen = targets != IGNORE
    assert (inputs[chosen] == MASK).all() and torch.equal(targets[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])
    assert not chosen[:, 0].any() and not chosen[:, 5:].any()
    assert 0.4 < chosen[:, 1:5].float().mean().item() < 0.6


def test_masked_lm_pretraining_learns():
    import math

    from leakaudit.tmi.mlm import train_mlm
    from leakaudit.tmi.params import PretrainParams

    g = torch.Generator().manual_seed(0)
    ids = torch.cat([torch.full((16, 1), START), 4 + torch.randint(0, 6, (16, 7), generator=g)], 1)
    torch.manual_seed(0)
    model = build_model(ModelParams(arch="transformer", hidden=16, layers=1, heads=2,
                                    feature_dim=4), (8,), 3, vocab_size=10)
    res = train_mlm(model.backbone, ids, PretrainParams(epochs=60, batch_size=16, lr=1e-2), g)
    assert res.final_loss < 0.8 * math.log(10)  # better than guessing among the 10 ids


def test_mlm_objective_needs_text():
    with pytest.raises(ParamsError, match="pretrain.objective: got 'mlm'"):
        parse_params({"pretrain": {"objective": "mlm"}})


def test_huggingface_text_source_offline_with_a_saved_tokenizer(tmp_path):
    """The online path (datasets + AutoTokenizer by name), run on saved copies."""
    import datasets
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from leakaudit.tmi.data import load_source

    texts = [f"sample number {i} about topic {i % 3}" for i in range(40)]
    datasets.Dataset.from_dict({"text": texts, "fine": [i % 6 for i in range(40)],
                                "coarse": [i % 2 for i in range(40)]}).save_to_disk(tmp_path / "d")
    raw = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]"]))
    PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="[PAD]",
                            unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    for tokenizer in ("bpe", str(tmp_path / "tok")):
        p = parse_params({
            "data": {"modality": "text", "source": "huggingface",
                     "huggingface": {"load_from_disk": str(tmp_path / "d"),
                                     "upstream_label": "fine", "downstream_split": "train",
                                     "downstream_label": "coarse"},
                     "text": {"max_len": 8, "tokenizer": tokenizer, "vocab_size": 300}},
            "model": {"arch": "transformer"}})
        d = load_source(p)
        assert d.is_text and d.same_collection and d.up_x.shape == (40, 8)
        assert d.n_up_classes == 6 and d.n_down_classes == 2 and d.up_x.max() < d.vocab_size
        assert (d.up_x[:10, -1] == PAD).all()  # short texts padded with id 0 by any tokenizer
        assert not (d.up_x[:, 0] == PAD).any()
