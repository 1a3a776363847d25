"""Bring your own model and data: the worked example under examples/byo (a torchvision-style
ResNet factory and a folder-of-images source) validated on load and audited end to end."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file
from test_pipeline import BIN, ROOT, _env, make_copy, metric_values

from leakaudit.core.params import ParamsError
from leakaudit.tmi.data import load_source
from leakaudit.tmi.models import build_model
from leakaudit.tmi.params import load_params

sys.path.insert(0, str(ROOT / "examples"))  # as `PYTHONPATH=examples` does for the stages


def image_folders(root: Path) -> Path:
    """300 upstream digits (10 classes) and 300 downstream ones (digit mod 5), as PNGs."""
    from sklearn.datasets import load_digits

    d = load_digits()
    for split, (lo, labels) in {"upstream": (0, d.target), "downstream": (300, d.target % 5)
                                }.items():
        for i in range(lo, lo + 300):
            folder = root / split / f"class-{labels[i]}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((d.images[i] * 255 / 16).astype(np.uint8)).save(folder / f"{i}.png")
    return root


def byo_params(tmp: Path, images: Path, **model) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] |= {"source": "byo_demo.folder_source:load",
                       "options": {"root": str(images), "size": 16, "channels": 1}}
    params["model"] |= {"arch": "byo_demo.resnet:backbone", "hidden": 8,
                        "feature_dim": 8, "resnet_blocks": [1, 1]} | model
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def test_your_factories_load_with_the_builtin_contract(tmp_path):
    p = load_params(byo_params(tmp_path, image_folders(tmp_path / "img")))
    data = load_source(p)
    assert data.up_x.shape == (300, 1, 16, 16) and data.n_up_classes == 10
    assert data.n_down_classes == 5 and set(data.down_y) == set(range(5))
    model = build_model(p.model, data.image_shape, data.n_up_classes)
    assert model(torch.from_numpy(data.up_x[:4])).shape == (4, 10)
    model.replace_head(5)  # the audit's replaceable head sits on your backbone's features
    assert model(torch.from_numpy(data.up_x[:4])).shape == (4, 5)


@pytest.mark.parametrize("arch, says", [
    ("byo_demo.resnet:bakbone", "model.arch: got 'byo_demo.resnet:bakbone'; allowed: "
     "'mlp', 'cnn', 'resnet', 'transformer', or an importable 'package.module:factory' "
     "(AttributeError"),
    ("no_such_pkg.mod:build", "(ModuleNotFoundError"),
    ("deep", "model.arch: got 'deep'; allowed: 'mlp', 'cnn', 'resnet', 'transformer', or "
     "'package.module:factory'"),
])
def test_a_bad_factory_fails_on_load_naming_the_key(tmp_path, arch, says):
    with pytest.raises(ParamsError) as err:
        load_params(byo_params(tmp_path, tmp_path, arch=arch))
    assert says in str(err.value)


def test_the_example_audits_end_to_end(tmp_path):
    repo = make_copy(tmp_path / "repo")
    shutil.copytree(ROOT / "examples", repo / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load(byo_params(tmp_path, image_folders(tmp_path / "img")).read_text())
    tiny = yaml.safe_load((repo / "params.yaml").read_text())  # the tiny preset's sizes
    tiny["data"], tiny["model"] = params["data"], params["model"]
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    proc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, capture_output=True, text=True,
                          env=_env() | {"PYTHONPATH": str(repo / "examples")}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = metric_values(repo)
    assert {"tmi", "lira", "threshold"} <= set(m["null"])  # every attack scored
    # the audited models are your backbone (stem conv 8×1×3×3, residual blocks) with the head
    weights = load_file(repo / "models/replicates/seed-1/pretrain/m0000/weights.safetensors")
    assert weights["backbone.0.weight"].shape == (8, 1, 3, 3)
    assert any(".body." in k for k in weights) and weights["head.weight"].shape == (10, 8)
    points = pd.read_parquet(repo / "outputs/replicates/seed-1/prepare/points.parquet")
    assert points.source_index[points.collection == "up"].max() < 300  # your images
    assert "byo_demo.resnet:backbone" in (repo / "report.html").read_text()
