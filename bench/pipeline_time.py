"""Default audit from an empty cache: time per stage and the orchestration overhead.

Three fresh copies, one after another on the same machine:
  1. plain   — the stage scripts by hand (`python -m tasks.<stage>` in order, MLflow off):
               what running the audit costs without any orchestration;
  2. dvc     — `dvc repro` (DVC + MLflow);
  3. flow    — `python -m flows.audit` (Prefect, ephemeral API unless PREFECT_API_URL is set,
               driving DVC + MLflow).
Stage compute (the timed body of each stage, MLflow logging excluded) varies by several seconds
between identical runs on a shared 2-core machine, so the overhead is measured on what lies
*outside* the compute bodies: overhead = non-compute(2 or 3) − non-compute(1), i.e. what DVC,
MLflow and Prefect add to the process starts and imports the plain scripts pay too. The raw
wall-time difference is printed beside it.

`--server` also runs the flow against a running Prefect server (how scheduled audits run),
started before the timing; without it the flow uses Prefect's ephemeral API, whose start-up
(several seconds) is paid by every run.

    python bench/pipeline_time.py [--skip-flow] [--server] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, copy_repo, env, timed  # noqa: E402

from flows.server import prefect_server  # noqa: E402
from leakaudit.core.layout import read_record  # noqa: E402

# per replicate, then evaluate once
STAGES = ["prepare", "pretrain", "finetune", "query", "attack"]


def commands(repo: Path) -> list[list[str]]:
    """The stage commands `dvc repro` runs, in order (each replicate's, then evaluate and
    the HTML report)."""
    seeds = yaml.safe_load((repo / "params.yaml").read_text())["replicates"]["seeds"]
    return [[sys.executable, "-m", f"tasks.{s}", "--replicate", str(r)]
            for r in seeds for s in STAGES] + [[sys.executable, "-m", "tasks.evaluate"],
                                                [sys.executable, "-m", "tasks.report",
                                                 "--pipeline", "tmi"]]


def compute_seconds(repo: Path) -> dict[str, float]:
    """Compute seconds per stage, summed over replicates (from the stage records)."""
    out: dict[str, float] = {}
    records = [*(repo / "outputs/replicates").glob("seed-*/*/stage.json"),
               repo / "outputs/evaluate/stage.json", repo / "outputs/report/stage.json"]
    for path in records:
        rec = read_record(path.parent)  # stage.json + run.json (wall times)
        # MLflow logging happens inside evaluate's body: count it as orchestration
        seconds = rec["compute_seconds"] - (rec.get("tracking_seconds") or 0.0)
        out[rec["stage"]] = out.get(rec["stage"], 0.0) + seconds
    return out


def report(label: str, repo: Path, wall: float, plain: tuple[float, float] | None = None
           ) -> tuple[float, float]:
    """Print per-stage compute and overheads; return (wall, non-compute seconds)."""
    compute = compute_seconds(repo)
    total = sum(compute.values())
    rest = wall - total
    print(f"\n== {label}: wall {wall:.1f} s ({wall / 60:.2f} min)")
    print("  per stage: " + "  ".join(f"{s} {c:.1f}s" for s, c in compute.items()))
    print(f"  stage compute {total:.1f} s; outside compute (process start, imports, tools) "
          f"{rest:.1f} s = {100 * rest / wall:.1f} % of wall")
    if plain is not None:
        over = rest - plain[1]
        print(f"  ORCHESTRATION OVERHEAD (non-compute beyond plain scripts): {over:.1f} s = "
              f"{100 * over / wall:.1f} % of wall   [raw wall difference "
              f"{wall - plain[0]:+.1f} s]")
    return wall, rest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-flow", action="store_true")
    ap.add_argument("--server", action="store_true", help="also time the flow on a server")
    ap.add_argument("--keep", type=Path, default=None, help="keep the copies under this dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))

    plain_repo = copy_repo(base / "plain")
    params = yaml.safe_load((plain_repo / "params.yaml").read_text())
    params["tracking"]["enabled"] = False
    (plain_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    walls = [timed(cmd, plain_repo) for cmd in commands(plain_repo)]
    plain = report("plain stage scripts (no DVC, Prefect or MLflow)", plain_repo, sum(walls))

    repo = copy_repo(base / "dvc")
    dvc_wall = timed([str(BIN / "dvc"), "repro"], repo)
    report("dvc repro (empty cache, MLflow on)", repo, dvc_wall, plain)
    body = compute_seconds(repo)["report"]
    print(f"  REPORT STAGE: body {body:.2f} s, whole process (plain run) {walls[-1]:.2f} s "
          f"= {100 * walls[-1] / dvc_wall:.1f} % of the dvc repro wall")
    print(f"  repeat dvc repro (no-op): {timed([str(BIN / 'dvc'), 'repro'], repo):.1f} s")

    if not args.skip_flow:
        repo2 = copy_repo(base / "flow")
        report("Prefect flow, ephemeral API (empty cache)", repo2,
               timed([sys.executable, "-m", "flows.audit"], repo2), plain)
        print(f"  repeat flow (no-op): "
              f"{timed([sys.executable, '-m', 'flows.audit'], repo2):.1f} s")
    if args.server:
        with prefect_server(base / "prefect-home", env=env()) as url:
            repo3 = copy_repo(base / "flow-server")
            report(f"Prefect flow, running server {url} (empty cache)", repo3,
                   timed([sys.executable, "-m", "flows.audit"], repo3,
                         {"PREFECT_API_URL": url}), plain)
            noop = timed([sys.executable, "-m", "flows.audit"], repo3, {"PREFECT_API_URL": url})
            print(f"  repeat flow (no-op): {noop:.1f} s")
    print(f"\ncopies under {base}")


if __name__ == "__main__":
    main()
