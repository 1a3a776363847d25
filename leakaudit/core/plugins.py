"""Bring your own model or data to the TMI audit without editing the package: ``model.arch``
and ``data.source`` accept, besides the built-in names, an import path ``package.module:name``
to a factory with the same contract the built-ins follow.

- **Model** (``model.arch: my_pkg.models:backbone``):
  ``backbone(p: ModelParams, input_shape: tuple[int, ...], vocab_size: int) -> nn.Module``,
  a feature extractor mapping a batch of inputs (N×C×H×W images, or N×L token ids when
  ``vocab_size`` > 0) to N × ``p.feature_dim`` features. The audit adds the replaceable linear
  head (:class:`leakaudit.tmi.models.TransferNet`), so every finetune mode and attack applies.
- **Data** (``data.source: my_pkg.data:load``): ``load(p: Params) -> TransferData``, an
  upstream (pretraining) and a downstream (finetuning) collection with labels
  (:class:`leakaudit.tmi.data.transfer.TransferData`). Draw any randomness from ``p.base.seed``.

A factory is resolved when params are validated, so a typo fails at once naming the key.
Its module's source is part of the trained models' fingerprints: editing it retrains.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from typing import Annotated, Any


def is_import_path(spec: str) -> bool:
    """``package.module:name`` rather than a built-in name."""
    return ":" in spec


def resolve(spec: str, key: str, builtins: tuple[str, ...]) -> Callable[..., Any]:
    """The callable an import path names; a clear error naming ``key`` otherwise."""
    allowed = ", ".join(repr(b) for b in builtins)
    module, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"{key}: got {spec!r}; allowed: {allowed}, or an importable "
                         f"'package.module:factory' ({type(err).__name__}: {err})") from None
    if not callable(factory):
        raise ValueError(f"{key}: got {spec!r}, which is not callable; allowed: {allowed}, "
                         "or 'package.module:factory'")
    return factory


def check(spec: str, key: str, builtins: tuple[str, ...]) -> str:
    """Validate a ``model.arch`` / ``data.source`` value (a built-in or a resolvable path)."""
    if spec not in builtins:
        if not is_import_path(spec):
            raise ValueError(f"{key}: got {spec!r}; allowed: "
                             f"{', '.join(repr(b) for b in builtins)}, or "
                             "'package.module:factory'")
        resolve(spec, key, builtins)
    return spec


def BuiltinOrPlugin(key: str, builtins: tuple[str, ...]) -> Any:  # noqa: N802 (a type)
    """The type of a params key (``model.arch``, ``data.source``) that names a built-in or
    your own factory: validated by :func:`check` on load."""
    from pydantic import AfterValidator

    return Annotated[str, AfterValidator(lambda v: check(v, key, builtins))]


def code_digest(spec: str) -> str:
    """SHA-256 (16 hex) of the source file of the module an import path names."""
    module = importlib.import_module(spec.partition(":")[0])
    return hashlib.sha256(inspect.getsource(module).encode()).hexdigest()[:16]
