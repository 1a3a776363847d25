"""Settings for one audit run: a preset and ``key=value`` overrides turned into dotted
params, validated with the pipeline's own loader (the same dotted-key errors as its
params.yaml) before anything runs. The CLI and the Prefect flow both use this."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from leakaudit.core.registry import ROOT
from leakaudit.core.registry import get as get_pipeline


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1,2]"]`` → ``{"a.b": 1, "c": [1, 2]}`` (values parsed as YAML)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set: got {item!r}; allowed: dotted.key=value")
        out[key] = yaml.safe_load(value)
    return out


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params → dotted keys (lists are values, not branches)."""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        out |= flatten(v, f"{key}.") if isinstance(v, dict) else {key: v}
    return out


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys → nested params."""
    out: dict[str, Any] = {}
    for key, v in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


def set_param_args(settings: dict[str, Any]) -> list[str]:
    """``key=value`` arguments for `dvc exp run --set-param`; values as JSON (JSON is YAML,
    so DVC reads back the same types)."""
    return [f"{key}={json.dumps(value)}" for key, value in settings.items()]


def merged_params(pipeline: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's params.yaml with the dotted ``settings`` applied (not validated)."""
    from leakaudit.core.presets import merge

    base = yaml.safe_load(get_pipeline(pipeline).params_file(ROOT).read_text()) or {}
    return merge(base, nest(settings))


def experiment_settings(pipeline: str, preset: str | None, sets: dict[str, Any]
                        ) -> dict[str, Any]:
    """The dotted settings a run applies (the preset's, then ``--set``), after validating the
    pipeline's params.yaml with them applied."""
    from leakaudit.core.params import ParamsError
    from leakaudit.core.presets import PRESETS

    pipe = get_pipeline(pipeline)
    settings: dict[str, Any] = {}
    if preset:
        path = PRESETS / f"{preset}.yaml"
        if not path.exists():
            names = ", ".join(sorted(p.stem for p in PRESETS.glob("*.yaml")))
            raise SystemExit(f"--preset: got {preset!r}; allowed: {names}")
        settings |= flatten(yaml.safe_load(path.read_text()) or {})
    settings |= sets
    merged = merged_params(pipeline, settings)
    source = " + ".join([str(pipe.params_file())] + ([f"preset {preset}"] if preset else [])
                        + [f"--set {k}" for k in sets])
    with tempfile.TemporaryDirectory() as tmp:  # the pipeline's own loader, its own checks
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(merged, sort_keys=False))
        try:
            pipe.load(path)
        except ParamsError as err:
            raise ParamsError(str(err).replace(str(path), source)) from None
    return settings
