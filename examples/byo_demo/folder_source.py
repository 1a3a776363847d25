"""A folder-of-images source for ``data.source: byo_demo.folder_source:load``.

Layout under ``data.options.root``: ``upstream/<class>/*.png`` (the pretraining collection)
and ``downstream/<class>/*.png`` (the finetuning collection); class names sort into labels.
Images are read as grey (``data.options.channels: 1``) or RGB (3) and resized to
``data.options.size`` pixels square. The contract (:mod:`leakaudit.core.plugins`): return a
:class:`~leakaudit.tmi.data.transfer.TransferData`; the audit splits it with ``base.seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from leakaudit.tmi.data.transfer import TransferData


def read_folder(root: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Images (N×C×H×W float32 in [0, 1]) and labels of ``root/<class>/*.png``."""
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not classes:
        raise ValueError(f"data.options.root: no class folders under {root}")
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).glob("*.png")):
            img = Image.open(f).convert("L" if channels == 1 else "RGB").resize((size, size))
            a = np.asarray(img, dtype=np.float32) / 255.0
            xs.append(a[None] if channels == 1 else a.transpose(2, 0, 1))
            ys.append(label)
    return np.stack(xs), np.asarray(ys, dtype=np.int64), len(classes)


def load(p) -> TransferData:
    """Both collections from ``p.data.options`` (root, size, channels)."""
    opts = p.data.options
    root = Path(opts["root"])
    size, channels = int(opts.get("size", 16)), int(opts.get("channels", 1))
    up_x, up_y, n_up = read_folder(root / "upstream", size, channels)
    down_x, down_y, n_down = read_folder(root / "downstream", size, channels)
    return TransferData(up_x, up_y, n_up, down_x, down_y, n_down, same_collection=False,
                        name=f"folder:{root.name}")
