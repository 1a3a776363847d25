"""Registry of data sources (images and texts) keyed by ``data.source``."""

from __future__ import annotations

from collections.abc import Callable

from leakaudit.tmi.data import digits, fashion_mnist, huggingface, wordnet
from leakaudit.tmi.data.transfer import TransferData
from leakaudit.tmi.params import Params

SOURCES: dict[str, Callable[[Params], TransferData]] = {
    "digits": lambda p: digits.load(p.data.digits.noise_std, p.base.seed),
    "fashion-mnist": lambda p: fashion_mnist.load(
        p.data.fashion_mnist.path, p.data.fashion_mnist.noise_std, p.base.seed,
        p.data.fashion_mnist.downstream,
    ),
    "huggingface": lambda p: huggingface.load(
        p.data.huggingface, p.data.text if p.data.modality == "text" else None
    ),
    "wordnet": lambda p: wordnet.load(p.data.wordnet.path, p.data.text),
}


def load_source(params: Params) -> TransferData:
    """Load the source named by ``params.data.source`` (a built-in, or your loader's import
    path, :mod:`leakaudit.core.plugins`)."""
    spec = params.data.source
    if ":" in spec:
        from leakaudit.core.plugins import resolve
        from leakaudit.tmi.params import BUILTIN_SOURCES

        data = resolve(spec, "data.source", BUILTIN_SOURCES)(params)
        if not isinstance(data, TransferData):
            raise TypeError(f"data.source {spec!r} returned {type(data).__name__}; expected "
                            "leakaudit.tmi.data.transfer.TransferData")
        return data
    return SOURCES[spec](params)
