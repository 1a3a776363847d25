"""The offline corpora every audit family reads: Fashion-MNIST's IDX files (Debian
``dataset-fashion-mnist``) and WordNet 3.0's glosses (Debian ``wordnet-base``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

POS_FILES = {"noun": 0, "verb": 1, "adj": 2, "adv": 3}  # WordNet's data files: part of speech


def _open(directory: Path, stem: str, key: str):
    for name in (f"{stem}.gz", stem):
        if (directory / name).exists():
            path = directory / name
            return gzip.open(path, "rb") if name.endswith(".gz") else path.open("rb")
    raise FileNotFoundError(
        f"{directory}/{stem}[.gz] not found: install the Debian package dataset-fashion-mnist "
        f"or set {key} to a directory with the IDX files"
    )


def read_idx(directory: Path, stem: str, key: str = "data.fashion_mnist.path") -> np.ndarray:
    """Read one IDX file (images or labels); a missing file's error names ``key``, the
    params key that points at the directory."""
    with _open(directory, stem, key) as fh:
        data = fh.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_glosses(path: str | Path, key: str = "data.wordnet.path"
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(glosses, lexicographer category 0–44, part of speech 0–3) in file order; a missing
    file's error names ``key``, the params key that points at the directory."""
    root = Path(path)
    texts: list[str] = []
    lex: list[int] = []
    pos: list[int] = []
    for name, p in POS_FILES.items():
        f = root / f"data.{name}"
        if not f.exists():
            raise FileNotFoundError(
                f"{key}: {f} not found; install Debian's wordnet-base (apt-get install "
                f"wordnet-base) or point {key} at a WordNet 3.0 dict")
        with f.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  ") or "|" not in line:
                    continue  # licence header
                head, gloss = line.split("|", 1)
                texts.append(gloss.strip())
                lex.append(int(head.split()[1]))
                pos.append(p)
    return texts, np.asarray(lex, dtype=np.int64), np.asarray(pos, dtype=np.int64)
