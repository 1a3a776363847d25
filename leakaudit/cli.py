"""``leakaudit``: one command over the audits (thin wrappers over DVC and the Prefect flows).

    leakaudit run                                   # `dvc repro` of the TMI audit
    leakaudit run --pipeline backdoor-vision        # another registered audit
    leakaudit run --preset fashion-mnist --set attack.tmi.epochs=40   # a DVC experiment
    leakaudit report [--pipeline backdoor]          # the headline table of the last run
    leakaudit report --index                        # reports/index.html: every audit + sweep
    leakaudit presets list | apply NAME
    leakaudit sweep attack.n_shadows 8 16 32        # = python -m flows.sweep …
    leakaudit flow [--pipeline P]                   # = python -m flows.audit … (Prefect)
    leakaudit pipelines sync | check                # write / check every dvc.yaml
    leakaudit inspect-checkpoint DIR [--reference DIR] [--probe-data FILE]   # poisoned?

Works from any directory of the checkout. ``run`` with a preset or ``--set`` validates the
resulting params (the same dotted-key errors as params.yaml) before DVC starts, then runs them
as a DVC experiment (`dvc exp run --set-param …`: lineage kept, `dvc exp show` lists it);
without them it is a plain `dvc repro`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from leakaudit.core.registry import PIPELINES, ROOT
from leakaudit.core.registry import get as get_pipeline
from leakaudit.core.settings import experiment_settings, parse_sets, set_param_args


def run_command(pipeline: str, settings: dict[str, Any], name: str | None) -> list[str]:
    """The DVC command a run executes (in the pipeline's folder)."""
    if not settings:
        return ["dvc", "repro"]
    cmd = ["dvc", "exp", "run"] + (["--name", name] if name else [])
    for arg in set_param_args(settings):
        cmd += ["--set-param", arg]
    return cmd


def report(pipeline: str) -> str:
    """The headline table of the pipeline's last run (its metrics.json)."""
    pipe = get_pipeline(pipeline)
    path = ROOT / pipe.folder / pipe.metrics_file
    if not path.exists():
        raise SystemExit(f"{path.relative_to(ROOT)}: no results yet; run `leakaudit run "
                         f"--pipeline {pipeline}`")
    return pipe.render(json.loads(path.read_text()))


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="leakaudit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    pipelines = sorted(PIPELINES)
    r = sub.add_parser("run", help="run an audit (dvc repro, or a DVC experiment with settings)")
    r.add_argument("--pipeline", choices=pipelines, default="tmi")
    r.add_argument("--preset", help="a presets/*.yaml file applied to this run only")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a params override, e.g. attack.tmi.epochs=40 (repeatable)")
    r.add_argument("--name", help="the DVC experiment's name (with --preset/--set)")
    r.add_argument("--dry-run", action="store_true", help="validate and print the command")
    rep = sub.add_parser("report", help="print the headline table of the last run (the full "
                         "report is report.html beside the pipeline's dvc.yaml)")
    rep.add_argument("--pipeline", choices=pipelines, default="tmi")
    rep.add_argument("--index", action="store_true",
                     help="write reports/index.html: every audit's report, MLflow run, sweeps")
    pr = sub.add_parser("presets", help="list presets or merge one into its params.yaml")
    pr.add_argument("action", choices=["list", "apply"])
    pr.add_argument("name", nargs="?")
    pl = sub.add_parser("pipelines", help="write (sync) or check every pipeline's dvc.yaml "
                        "against its declaration (leakaudit/core/dvcfile.py)")
    pl.add_argument("action", choices=["sync", "check"])
    from leakaudit.inspect.command import add_parser as inspect_parser

    inspect_parser(sub)
    sub.add_parser("sweep", help="sweep one params axis (python -m flows.sweep --help)",
                   add_help=False)
    sub.add_parser("flow", help="run an audit as a Prefect flow (python -m flows.audit --help)",
                   add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``leakaudit`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["sweep"], ["flow"]):  # forwarded whole: their own --help
        from flows import audit, sweep

        (sweep.main if argv[0] == "sweep" else audit.main)(argv[1:])
        return 0
    args = _parser().parse_args(argv)
    if args.cmd == "inspect-checkpoint":
        from leakaudit.inspect.command import run as inspect_checkpoint

        return inspect_checkpoint(args)
    if args.cmd == "report" and args.index:
        from leakaudit.core.report_index import write_index

        print(f"index: {write_index()}")
    elif args.cmd == "report":
        print(report(args.pipeline))
    elif args.cmd == "pipelines":
        from leakaudit.core.dvcfile import main as dvcfile

        return dvcfile([args.action])
    elif args.cmd == "presets":
        from leakaudit.core import presets

        if args.action == "list":
            for p in sorted(presets.PRESETS.glob("*.yaml")):
                print(f"{p.stem:<24} {presets.for_preset(p.stem).name}")
        elif not args.name:
            raise SystemExit("presets apply: a preset name is required")
        else:
            path = ROOT / presets.pipeline_params_file(args.name)
            presets.apply(args.name, path)
            print(f"applied preset {args.name} to {path}")
    else:
        from leakaudit.core.params import ParamsError

        try:
            settings = experiment_settings(args.pipeline, args.preset, parse_sets(args.set))
        except ParamsError as err:
            print(f"leakaudit run: {err}", file=sys.stderr)
            return 2
        cmd = run_command(args.pipeline, settings, args.name)
        folder = get_pipeline(args.pipeline).folder
        print(f"({folder}) {' '.join(cmd)}")
        if not args.dry_run:
            return subprocess.run(cmd, cwd=ROOT / folder).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
