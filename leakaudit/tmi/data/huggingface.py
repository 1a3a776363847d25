"""Image or text datasets through ``datasets``: by hub name when online, or from
``save_to_disk`` (offline)."""

from __future__ import annotations

import numpy as np

from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.params import HuggingFaceParams, TextParams


def _load(name: str, from_disk: str | None, split: str):
    import datasets

    if from_disk:
        ds = datasets.load_from_disk(from_disk)
        return ds[split] if isinstance(ds, datasets.DatasetDict) else ds
    return datasets.load_dataset(name, split=split)


def _to_arrays(ds, image_column: str, label_column: str) -> tuple[np.ndarray, np.ndarray, int]:
    if image_column not in ds.column_names:
        raise KeyError(f"dataset has no column {image_column!r}; columns: {ds.column_names}")
    images = np.stack([np.asarray(im, dtype=np.uint8) for im in ds[image_column]])
    if images.ndim == 3:
        images = images[:, :, :, None]
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    y, n_classes = _labels(ds, label_column)
    return x, y, n_classes


def _labels(ds, label_column: str) -> tuple[np.ndarray, int]:
    if label_column not in ds.column_names:
        raise KeyError(f"dataset has no column {label_column!r}; columns: {ds.column_names}")
    y = np.asarray(ds[label_column], dtype=np.int64)
    feature = ds.features[label_column]
    return y, int(getattr(feature, "num_classes", None) or int(y.max()) + 1)


def _texts(ds, column: str) -> list[str]:
    if column not in ds.column_names:
        raise KeyError(f"dataset has no column {column!r}; columns: {ds.column_names}")
    return [str(t) for t in ds[column]]


def load(p: HuggingFaceParams, text: TextParams | None = None) -> TransferData:
    """Upstream from (name, upstream_split, upstream_label); downstream from
    (downstream_name or name, downstream_split, downstream_label). With ``text`` the inputs are
    ``text_column`` tokenised by ``text`` (one vocabulary over both collections)."""
    up = _load(p.name, p.load_from_disk, p.upstream_split)
    down_name = p.downstream_name or p.name
    down_disk = p.downstream_load_from_disk or (None if p.downstream_name else p.load_from_disk)
    down = _load(down_name, down_disk, p.downstream_split)
    same = down_name == p.name and p.downstream_split == p.upstream_split
    vocab = 0
    if text is not None:
        from leakaudit.tmi.data.tokenize import encode

        up_texts = _texts(up, p.text_column)
        down_texts = [] if same else _texts(down, p.text_column)
        ids, vocab = encode(up_texts + down_texts, text)
        up_x, down_x = ids[: len(up_texts)], (ids if same else ids[len(up_texts):])
        (up_y, n_up), (down_y, n_down) = _labels(up, p.upstream_label), \
            _labels(down, p.downstream_label)
    else:
        up_x, up_y, n_up = _to_arrays(up, p.image_column, p.upstream_label)
        down_x, down_y, n_down = _to_arrays(
            down, p.downstream_image_column or p.image_column, p.downstream_label
        )
    return TransferData(
        up_x=up_x, up_y=up_y, n_up_classes=n_up,
        down_x=down_x, down_y=down_y, n_down_classes=n_down,
        same_collection=same, name=f"huggingface:{p.name}", vocab_size=vocab,
    )
