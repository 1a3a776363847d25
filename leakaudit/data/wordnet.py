"""WordNet 3.0 glosses (Debian ``wordnet-base``): a text-classification transfer task.

Upstream: each synset's gloss labelled with its lexicographer category (45 fine classes, e.g.
``noun.animal``, ``verb.motion``). Downstream: the same glosses labelled with their part of
speech (noun, verb, adjective, adverb) — a coarser label set, as digit mod 5 is for digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leakaudit.config import TextParams
from leakaudit.data.transfer import TransferData

POS_FILES = {"noun": 0, "verb": 1, "adj": 2, "adv": 3}
N_LEXNAMES = 45


def read_glosses(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(glosses, lexicographer category 0–44, part of speech 0–3) in file order."""
    root = Path(path)
    texts: list[str] = []
    lex: list[int] = []
    pos: list[int] = []
    for name, p in POS_FILES.items():
        f = root / f"data.{name}"
        if not f.exists():
            raise FileNotFoundError(
                f"data.wordnet.path: {f} not found; install Debian's wordnet-base "
                "(apt-get install wordnet-base) or point data.wordnet.path at a WordNet 3.0 dict")
        with f.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  ") or "|" not in line:
                    continue  # licence header
                head, gloss = line.split("|", 1)
                texts.append(gloss.strip())
                lex.append(int(head.split()[1]))
                pos.append(p)
    return texts, np.asarray(lex, dtype=np.int64), np.asarray(pos, dtype=np.int64)


def load(path: str, text: TextParams) -> TransferData:
    """Glosses tokenised as ``data.text`` says (see :func:`leakaudit.data.tokenize.encode`)."""
    from leakaudit.data.tokenize import encode

    texts, lex, pos = read_glosses(path)
    ids, vocab = encode(texts, text)
    return TransferData(
        up_x=ids, up_y=lex, n_up_classes=N_LEXNAMES,
        down_x=ids, down_y=pos, n_down_classes=len(POS_FILES),
        same_collection=True, name="wordnet", vocab_size=vocab,
    )
