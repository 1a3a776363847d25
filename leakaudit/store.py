"""Atomic file writes, safetensors weights and per-model directories with completion markers.

A model directory holds ``weights.safetensors``, ``config.json`` and ``DONE``; ``DONE`` is
written last and carries a fingerprint of everything the model depends on, so a resumed stage
skips exactly the finished, still-valid models and never reads a half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

MARKER = "DONE"
WEIGHTS = "weights.safetensors"


class UnsafeCheckpointError(ValueError):
    """Raised when asked to load weights from anything but safetensors."""


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def save_weights(
    path: str | Path, state: dict[str, torch.Tensor], meta: dict | None = None
) -> None:
    """Save a state dict as safetensors, atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: str(v) for k, v in (meta or {}).items()})


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load safetensors weights; refuse every other format (never unpickle a checkpoint)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise UnsafeCheckpointError(
            f"{path}: refusing to load a non-safetensors checkpoint (pickle can run code)"
        )
    from safetensors.torch import load_file

    return load_file(str(path))


def model_dir(root: str | Path, model_id: int) -> Path:
    """The directory of model ``model_id`` under ``root``."""
    return Path(root) / f"m{model_id:04d}"


def is_done(directory: str | Path, fingerprint: str) -> bool:
    """True when the directory holds a finished model with this fingerprint."""
    marker = Path(directory) / MARKER
    if not marker.exists():
        return False
    try:
        return read_json(marker).get("fingerprint") == fingerprint
    except (json.JSONDecodeError, OSError):
        return False


def save_model(
    directory: str | Path,
    state: dict[str, torch.Tensor],
    config: dict[str, Any],
    fingerprint: str,
) -> None:
    """Write weights, then config, then the completion marker (last)."""
    directory = Path(directory)
    marker = directory / MARKER
    if marker.exists():
        marker.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory / WEIGHTS, state)
    write_json(directory / "config.json", config)
    write_json(marker, {"fingerprint": fingerprint})


def load_model_state(directory: str | Path, fingerprint: str | None = None) -> dict:
    """Load a finished model's weights; fail clearly if it is unfinished or stale."""
    directory = Path(directory)
    if fingerprint is not None and not is_done(directory, fingerprint):
        raise FileNotFoundError(f"{directory}: no finished model with fingerprint {fingerprint}")
    if fingerprint is None and not (directory / MARKER).exists():
        raise FileNotFoundError(f"{directory}: model is not finished (no {MARKER} marker)")
    return load_weights(directory / WEIGHTS)


def prune_models(root: str | Path, keep: int) -> None:
    """Remove model directories with an id ≥ ``keep`` and stray temporaries."""
    root = Path(root)
    if not root.exists():
        return
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("m") and child.name[1:].isdigit():
            if int(child.name[1:]) >= keep:
                shutil.rmtree(child)
