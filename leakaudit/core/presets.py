"""Presets: partial params files under ``presets/`` merged over ``params.yaml``.

    python -m leakaudit.core.presets list
    python -m leakaudit.core.presets apply fashion-mnist [--params params.yaml]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from leakaudit.core.registry import for_preset
from leakaudit.core.store import atomic_path

PRESETS = Path(__file__).resolve().parents[2] / "presets"


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def pipeline_params_file(name: str) -> Path:
    """The params file (relative to the repo root) that preset ``name`` is merged into."""
    return for_preset(name).params_file()


def validate(name: str, merged: dict[str, Any], where: str) -> None:
    """Validate ``merged`` params with the model of the pipeline preset ``name`` belongs to."""
    for_preset(name).params.parse(merged, where)


def apply(name: str, params_path: str | Path = "params.yaml") -> dict[str, Any]:
    """Merge preset ``name`` into ``params_path`` (validated before writing)."""
    preset = PRESETS / f"{name}.yaml"
    if not preset.exists():
        names = ", ".join(sorted(p.stem for p in PRESETS.glob("*.yaml")))
        raise SystemExit(f"unknown preset {name!r}; allowed: {names}")
    path = Path(params_path)
    base = yaml.safe_load(path.read_text()) if path.exists() else {}
    merged = merge(base or {}, yaml.safe_load(preset.read_text()) or {})
    validate(name, merged, f"{path} + preset {name}")
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(merged, sort_keys=False))
    return merged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    a = sub.add_parser("apply")
    a.add_argument("name")
    a.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    if args.cmd == "list":
        for p in sorted(PRESETS.glob("*.yaml")):
            print(p.stem)
    else:
        apply(args.name, args.params)
        print(f"applied preset {args.name} to {args.params}")


if __name__ == "__main__":
    main()
