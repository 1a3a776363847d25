"""``leakaudit inspect-checkpoint PATH [--reference PATH] [--probe-data FILE]
[--public-data FILE] [--html FILE] [--json FILE]``: exit status 0 when nothing suspicious was
found (or no verdict applies), 1 when the release is flagged, 2 on bad input."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    ins = sub.add_parser("inspect-checkpoint", help="is this downloaded checkpoint crafted to "
                         "make your finetuning data leak? (safetensors only, never downloads)")
    ins.add_argument("path", type=Path, help="a checkpoint directory (this tool's classifier "
                     "format, or a GPT-2 / GPT-Neo / BERT save_pretrained directory)")
    ins.add_argument("--reference", type=Path, help="a clean checkpoint of the same "
                     "architecture (adds per-record shift and weight drift)")
    ins.add_argument("--probe-data", type=Path, help="your own records, as you would finetune "
                     "on them: .npz (x, y) for a classifier; .txt / .jsonl for a causal LM")
    ins.add_argument("--public-data", type=Path, help="format-matched public records to "
                     "compare yours with (default: Fashion-MNIST test images for this tool's "
                     "CNN; synthetic PII sentences for causal LMs)")
    ins.add_argument("--baseline", type=int, default=0, metavar="N", help="with --reference "
                     "and --probe-data: also make N benign continuations of the reference (500 "
                     "Adam steps on half of the public probes each) and score the release by "
                     "its excess over them (default 0: off; measured weaker than the plain "
                     "reference detector, docs/inspect-checkpoint.md)")
    ins.add_argument("--seed", type=int, default=0, help="seeds the probe samples and the "
                     "canary test")
    ins.add_argument("--html", type=Path, help="also write the report as an HTML file")
    ins.add_argument("--json", type=Path, help="also write the signals and verdict as JSON")


def run(args: argparse.Namespace) -> int:
    """Inspect, print, write the optional files; the exit status says the verdict."""
    from leakaudit.core.store import CheckpointError, UnsafeCheckpointError, write_json
    from leakaudit.inspect import detector
    from leakaudit.inspect.checkpoint import open_checkpoint
    from leakaudit.inspect.inspector import inspect
    from leakaudit.inspect.records import OPS
    from leakaudit.inspect.report import render, verdict, write_html

    if args.baseline < 0:
        print(f"leakaudit inspect-checkpoint: --baseline {args.baseline}: the number of benign "
              "continuations, 0 (off) or more")
        return 2
    try:
        ck = open_checkpoint(args.path)
        ref = open_checkpoint(args.reference) if args.reference else None
        ops = OPS.get(ck.family)
        data = {}
        for key in ("probe_data", "public_data"):
            path = getattr(args, key)
            if path is not None and ops is None:
                raise CheckpointError(f"--{key.replace('_', '-')}: a {ck.family} checkpoint "
                                      "takes no records (its signals are weights only)")
            if path is not None and not path.exists():
                raise CheckpointError(f"--{key.replace('_', '-')}: {path} not found")
            data[key] = ops.read(path) if path is not None else None
        # a benign baseline needs what its continuations train and are probed on
        calibrate = (ref is not None and ops is not None and data["probe_data"] is not None
                     and args.baseline > 0)
        if calibrate:
            from leakaudit.inspect.baseline import BenignBaseline, inspect_calibrated

            ins = inspect_calibrated(ck, data["probe_data"], data["public_data"], ref, args.seed,
                                     BenignBaseline(continuations=args.baseline))
        else:
            ins = inspect(ck, data["probe_data"], data["public_data"], ref, args.seed)
    except (CheckpointError, UnsafeCheckpointError, ValueError) as err:
        print(f"leakaudit inspect-checkpoint: {err}")
        return 2
    det = detector.load(ck.family, detector.setting_of(ref is not None, calibrate))
    print(render(ins, det))
    v = verdict(ins, det)
    if args.html:
        write_html(args.html, ins, det)
        print(f"html: {args.html}")
    if args.json:
        write_json(args.json, {**asdict(ins), "verdict": asdict(v) | {"text": v.text}})
    return 1 if v.suspicious else 0


__all__ = ["add_parser", "run"]
