"""A user's own pretrained text encoder (a tiny save_pretrained BERT) as the audited backbone:
ids re-indexed consistently, safetensors only, validated params, and a whole audit offline."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_pipeline import BIN, _env, make_copy, metric_values

from leakaudit.core.params import ParamsError
from leakaudit.tmi.data.tokenize import MASK, PAD
from leakaudit.tmi.params import parse_params

WORDS = "red green blue cat dog bird runs sleeps eats quickly slowly under over the a".split()


def corpus(n: int = 120) -> tuple[list[str], list[int], list[int]]:
    """Short seeded sentences; fine label = first word's index mod 6, coarse = mod 2."""
    g = np.random.default_rng(0)
    texts, fine = [], []
    for _ in range(n):
        words = g.choice(len(WORDS), size=int(g.integers(3, 7)))
        texts.append(" ".join(WORDS[w] for w in words))
        fine.append(int(words[0]) % 6)
    return texts, fine, [f % 2 for f in fine]


def save_tiny_bert(path: Path, hidden: int = 24, unused: int = 40) -> Path:
    """A 1-layer BERT and its word-level tokenizer (pad id 3, mask id 4: neither is 0 or 1),
    written with save_pretrained; ``unused`` extra vocabulary entries never occur in texts."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    vocab = {w: i for i, w in enumerate(specials + WORDS + [f"zz{i}" for i in range(unused)])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", cls_token="[CLS]",
                                  sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]")
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=2 * hidden,
                                max_position_embeddings=16, pad_token_id=3))
    bert.save_pretrained(path)  # safetensors
    tok.save_pretrained(path)
    return path


def text_params(ckpt: Path, data: Path, **model) -> dict:
    return {"data": {"modality": "text", "source": "huggingface",
                     "huggingface": {"load_from_disk": str(data), "text_column": "text",
                                     "upstream_label": "fine", "downstream_split": "train",
                                     "downstream_label": "coarse"},
                     "text": {"max_len": 8, "tokenizer": str(ckpt)}},
            "model": {"arch": "transformer", "pretrained": str(ckpt), "feature_dim": 8} | model}


def test_ids_and_embeddings_are_reindexed_together(tmp_path):
    """The audit's encoder reads a text exactly as the checkpoint does: pad/mask ids move to
    0/1 in the data and the embedding rows move with them."""
    from transformers import AutoModel, AutoTokenizer

    from leakaudit.tmi.data.tokenize import encode_pretrained, reserved_permutation
    from leakaudit.tmi.models.transformer import TextEncoder

    ckpt = save_tiny_bert(tmp_path / "bert")
    texts = ["red cat runs", "the dog sleeps under a blue bird"]
    ids, vocab = encode_pretrained(texts, 8, str(ckpt))
    tok = AutoTokenizer.from_pretrained(ckpt)
    raw = np.asarray(tok(texts, truncation=True, max_length=8, padding="max_length")["input_ids"])
    assert (raw == 3).any() and (ids[raw == 3] == PAD).all() and not (ids[raw != 3] == PAD).any()
    assert reserved_permutation(str(ckpt))[4] == MASK and vocab == len(tok)
    theirs = AutoModel.from_pretrained(ckpt).eval()
    ours = TextEncoder(vocab, 8, 999, 9, 9, 4, pretrained=str(ckpt)).eval()
    with torch.no_grad():
        a = theirs(input_ids=torch.from_numpy(raw),
                   attention_mask=torch.from_numpy((raw != 3).astype(np.int64))).last_hidden_state
        b = ours.token_states(torch.from_numpy(ids))
    real = torch.from_numpy(raw != 3)
    assert torch.allclose(a[real], b[real], atol=1e-5)
    assert ours.features[0].in_features == 24  # the checkpoint's width, not model.hidden


def test_pickled_checkpoints_are_refused(tmp_path):
    from transformers import AutoModel

    from leakaudit.tmi.models.pretrained import load_encoder

    ckpt = save_tiny_bert(tmp_path / "bert")
    state = AutoModel.from_pretrained(ckpt).state_dict()
    (ckpt / "model.safetensors").unlink()
    torch.save(state, ckpt / "pytorch_model.bin")  # what a pickled checkpoint looks like
    with pytest.raises(ValueError, match="model.pretrained: cannot load .*safetensors"):
        load_encoder(str(ckpt), 8)


def test_pretrained_needs_its_own_tokenizer(tmp_path):
    with pytest.raises(ParamsError, match="model.pretrained: got '/x' .*data.text.tokenizer "
                                          "'bpe'.*same directory"):
        parse_params({"data": {"modality": "text", "source": "wordnet"},
                      "model": {"arch": "transformer", "pretrained": "/x"}})


def test_an_audit_of_your_pretrained_encoder_end_to_end(tmp_path):
    """dvc repro on a saved dataset and a saved BERT: every model starts from the checkpoint
    (embedding rows of ids that never occur stay exactly the checkpoint's)."""
    import datasets

    texts, fine, coarse = corpus()
    datasets.Dataset.from_dict({"text": texts, "fine": fine, "coarse": coarse}) \
        .save_to_disk(tmp_path / "data")
    ckpt = save_tiny_bert(tmp_path / "bert")
    repo = make_copy(tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    over = text_params(ckpt, tmp_path / "data")
    params["data"] |= over["data"]
    params["model"] |= over["model"]
    params["prepare"] |= {"n_pool": 40, "n_pretrain_test": 20, "n_finetune_pool": 40,
                          "n_finetune_test": 20}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, capture_output=True, text=True,
                          env=_env(), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {"tmi", "lira", "threshold"} <= set(metric_values(repo)["null"])
    start = load_file(ckpt / "model.safetensors")
    emb_key = next(k for k in start if k.endswith("word_embeddings.weight"))
    trained = load_file(repo / "models/replicates/seed-1/pretrain/m0000/weights.safetensors")
    emb = trained[f"backbone.encoder.{emb_key.removeprefix('bert.')}"]
    unused = slice(5 + len(WORDS), None)  # the zz* ids: never in a text, so never updated
    assert torch.equal(emb[unused], start[emb_key][unused])
    assert not torch.equal(emb[5:5 + len(WORDS)], start[emb_key][5:5 + len(WORDS)])  # trained
    assert str(ckpt) in (repo / "report.html").read_text()
