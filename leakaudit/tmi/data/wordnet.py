"""WordNet 3.0 glosses (Debian ``wordnet-base``): a text-classification transfer task.

Upstream: each synset's gloss labelled with its lexicographer category (45 fine classes, e.g.
``noun.animal``, ``verb.motion``). Downstream: the same glosses labelled with their part of
speech (noun, verb, adjective, adverb) — a coarser label set, as digit mod 5 is for digits.
"""

from __future__ import annotations

from leakaudit.core.corpora import POS_FILES, read_glosses
from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.params import TextParams

N_LEXNAMES = 45


def load(path: str, text: TextParams) -> TransferData:
    """Glosses tokenised as ``data.text`` says (see :func:`leakaudit.tmi.data.tokenize.encode`)."""
    from leakaudit.tmi.data.tokenize import encode

    texts, lex, pos = read_glosses(path)
    ids, vocab = encode(texts, text)
    return TransferData(
        up_x=ids, up_y=lex, n_up_classes=N_LEXNAMES,
        down_x=ids, down_y=pos, n_down_classes=len(POS_FILES),
        same_collection=True, name="wordnet", vocab_size=vocab,
    )
