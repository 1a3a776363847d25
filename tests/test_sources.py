"""Offline checks of the non-default sources: Fashion-MNIST IDX files and a saved HF dataset."""

import gzip

import numpy as np
import pytest

from leakaudit.tmi.data import fashion_mnist, huggingface, load_source
from leakaudit.tmi.params import HuggingFaceParams, parse_params


def _write_idx(path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_and_groups_labels(tmp_path):
    r = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 20)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", r.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    d = fashion_mnist.load(str(tmp_path), 0.0, 0)
    assert d.up_x.shape == (30, 1, 28, 28) and d.up_x.max() <= 1.0
    assert d.n_down_classes == 4 and set(d.down_y) == {0, 1, 2, 3}
    assert d.down_y[9] == 2 and d.down_y[8] == 3  # ankle boot → footwear, bag → bags


def test_fashion_mnist_missing_files_say_what_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist.load(str(tmp_path), 0.0, 0)


def test_huggingface_source_from_save_to_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    r = np.random.default_rng(0)

    def split(n):
        return datasets.Dataset.from_dict(
            {"img": [Image.fromarray(r.integers(0, 256, (8, 8, 3), dtype=np.uint8))
                     for _ in range(n)],
             "fine_label": list(np.arange(n) % 6), "coarse_label": list(np.arange(n) % 3)},
            features=datasets.Features({
                "img": datasets.Image(), "fine_label": datasets.ClassLabel(num_classes=6),
                "coarse_label": datasets.ClassLabel(num_classes=3)}),
        )

    datasets.DatasetDict({"train": split(24), "test": split(12)}).save_to_disk(tmp_path / "ds")
    p = HuggingFaceParams(load_from_disk=str(tmp_path / "ds"))
    d = huggingface.load(p)
    assert d.up_x.shape == (24, 3, 8, 8) and d.n_up_classes == 6
    assert d.down_x.shape == (12, 3, 8, 8) and d.n_down_classes == 3
    assert not d.same_collection
    params = parse_params({"data": {"source": "huggingface",
                                    "huggingface": {"load_from_disk": str(tmp_path / "ds")}}})
    assert load_source(params).up_y.tolist() == d.up_y.tolist()
