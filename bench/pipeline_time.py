"""Default audit from an empty cache: wall time per stage, and orchestration overhead.

Runs `dvc repro` in a fresh copy, then the Prefect flow in another fresh copy. Overhead =
wall time − the stages' own compute (the timed body of each stage, see outputs/*/stage.json):
process start, imports, DVC hashing, MLflow and Prefect bookkeeping.

    python bench/pipeline_time.py [--no-flow] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, copy_repo, timed  # noqa: E402

STAGES = ["prepare", "pretrain", "finetune", "query", "attack", "evaluate"]


def report(label: str, repo: Path, wall: float) -> None:
    compute = {s: json.loads((repo / f"outputs/{s}/stage.json").read_text())["compute_seconds"]
               for s in STAGES}
    total = sum(compute.values())
    print(f"\n== {label}: wall {wall:.1f} s ({wall / 60:.2f} min)")
    for s, c in compute.items():
        print(f"  {s:<9} {c:7.1f} s compute")
    over = wall - total
    print(f"  compute total {total:.1f} s; orchestration overhead {over:.1f} s = "
          f"{100 * over / wall:.1f} % of wall")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-flow", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="keep the copies under this dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    repo = copy_repo(base / "dvc")
    report("dvc repro (empty cache)", repo, timed([str(BIN / "dvc"), "repro"], repo))
    noop = timed([str(BIN / "dvc"), "repro"], repo)
    print(f"  repeat dvc repro (no-op): {noop:.1f} s")
    if not args.no_flow:
        repo2 = copy_repo(base / "flow")
        report("Prefect flow (empty cache)", repo2,
               timed([sys.executable, "-m", "flows.tmi"], repo2))
    print(f"\ncopies under {base}")


if __name__ == "__main__":
    main()
