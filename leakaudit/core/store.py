"""Atomic file writes, safetensors weights and per-model directories with completion markers.

A model directory holds ``weights.safetensors``, ``config.json`` and ``DONE``; ``DONE`` is
written last and carries a fingerprint of everything the model depends on and the SHA-256 of
the weights, so a resumed stage skips exactly the finished, still-valid, intact models and never
reads a half-written or corrupted file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

MARKER = "DONE"
WEIGHTS = "weights.safetensors"


class UnsafeCheckpointError(ValueError):
    """Raised when asked to load weights from anything but safetensors."""


class CheckpointError(ValueError):
    """A model directory that cannot be used: unfinished, stale, corrupted or unreadable. The
    message names the directory."""


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (params sections, index lists, parent prints):
    what a finished model's marker records (:func:`is_done`)."""
    import numpy as np

    blob = json.dumps([p.tolist() if isinstance(p, np.ndarray) else p for p in parts],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (mkstemp gives 0600)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.
    The file ends with the permissions a plain ``open`` would give it (the umask's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, obj: Any, sort_keys: bool = True) -> None:
    """Write JSON atomically (keys sorted unless the order is meaningful)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n")


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
    """Load safetensors weights; refuse every other format (never unpickle a checkpoint).
    An unreadable file raises :class:`CheckpointError` naming it."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise UnsafeCheckpointError(
            f"{path}: refusing to load a non-safetensors checkpoint (pickle can run code)"
        )
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types, naming no file
        raise CheckpointError(f"{path}: cannot read the weights ({err})") from None


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_dir(root: str | Path, model_id: int) -> Path:
    """The directory of model ``model_id`` under ``root``."""
    return Path(root) / f"m{model_id:04d}"


def _marker(directory: Path) -> dict | None:
    try:
        return read_json(directory / MARKER)
    except (json.JSONDecodeError, OSError):
        return None


def intact(directory: str | Path) -> bool:
    """True when the weights still have the digest their ``DONE`` marker recorded (markers
    without a digest — the backdoor pipelines' Hugging Face folders — are trusted as before)."""
    directory = Path(directory)
    marker = _marker(directory) or {}
    if "weights_sha256" not in marker:
        return True
    weights = directory / WEIGHTS
    return weights.exists() and file_digest(weights) == marker["weights_sha256"]


def is_done(directory: str | Path, fingerprint: str) -> bool:
    """True when the directory holds a finished, intact model with this fingerprint. A
    finished model whose weights no longer match their recorded digest is reported (stderr)
    and counts as not done, so it is trained again."""
    directory = Path(directory)
    marker = _marker(directory)
    if marker is None or marker.get("fingerprint") != fingerprint:
        return False
    if not intact(directory):
        print(f"warning: {directory}: weights do not match the digest in {MARKER} (corrupted "
              "or edited); training this model again", file=sys.stderr)
        return False
    return True


def save_model(
    directory: str | Path,
    state: dict[str, torch.Tensor],
    config: dict[str, Any],
    fingerprint: str,
) -> None:
    """Write weights, then config, then the completion marker (last) with the weights' digest."""
    directory = Path(directory)
    marker = directory / MARKER
    if marker.exists():
        marker.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory / WEIGHTS, state)
    write_json(directory / "config.json", config)
    write_json(marker, {"fingerprint": fingerprint,
                        "weights_sha256": file_digest(directory / WEIGHTS)})


def dir_digest(directory: str | Path) -> str:
    """SHA-256 over a model folder's files (names and bytes, the marker excluded): what a
    derived model's fingerprint records of its parent, so a changed parent retrains it."""
    directory = Path(directory)
    h = hashlib.sha256()
    for f in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MARKER):
        h.update(f.relative_to(directory).as_posix().encode() + b"\0")
        h.update(file_digest(f).encode())
    return h.hexdigest()


def replace_dir(directory: str | Path, write: Callable[[Path], None], fingerprint: str) -> None:
    """Write a finished model folder atomically: ``write(tmp)`` fills a temporary sibling, the
    completion marker is added last, then the sibling replaces ``directory`` at once (a killed
    run leaves either the old folder or the new one, never a half-written one). For folders
    whose layout a library dictates (Hugging Face ``save_pretrained``)."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    write_json(tmp / MARKER, {"fingerprint": fingerprint})
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)


def load_model_state(directory: str | Path, fingerprint: str | None = None) -> dict:
    """Load a finished model's weights; :class:`CheckpointError` naming the directory if it is
    unfinished, stale (another fingerprint) or corrupted."""
    directory = Path(directory)
    marker = _marker(directory)
    if marker is None:
        raise CheckpointError(f"{directory}: model is not finished (no {MARKER} marker)")
    if fingerprint is not None and marker.get("fingerprint") != fingerprint:
        raise CheckpointError(f"{directory}: no finished model with fingerprint {fingerprint}")
    if not intact(directory):
        raise CheckpointError(f"{directory}: weights do not match the digest in {MARKER} "
                              "(corrupted or edited); run the stage again to retrain it")
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
