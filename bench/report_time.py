"""How long the HTML report takes, per audit, beside what the audit itself computed.

For each pipeline with results in this checkout: the median of ``--repeats`` in-process
builds (`leakaudit.core.html_report.build`), the median wall of the whole report stage process
(`python -m tasks.report`, imports included; its output is identical, so DVC state is not
disturbed), and that process as a share of the audit's recorded stage compute.

    python bench/report_time.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, timed  # noqa: E402

from leakaudit.core.html_report import build  # noqa: E402
from leakaudit.core.layout import read_record  # noqa: E402
from leakaudit.core.registry import PIPELINES  # noqa: E402


def audit_compute(folder: Path) -> float:
    """Seconds of stage compute recorded by the audit's last run (report excluded)."""
    records = [p.parent for p in (folder / "outputs").rglob("stage.json")
               if p.parent.name != "report" and (p.parent / "run.json").exists()]
    return sum(read_record(d).get("compute_seconds", 0.0) for d in records)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"{'pipeline':<17}{'build (median)':>16}{'stage process':>15}{'audit compute':>15}"
          f"{'process / compute':>19}")
    for pipe in PIPELINES.values():
        folder = ROOT / pipe.folder
        if not (folder / "report.html").exists():
            continue
        builds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            build(pipe, folder)
            builds.append(time.perf_counter() - start)
        procs = [timed([sys.executable, "-m", "tasks.report", "--pipeline", pipe.name], folder,
                       {"PYTHONPATH": str(ROOT)}) for _ in range(max(1, args.repeats // 2))]
        compute = audit_compute(folder)
        proc = statistics.median(procs)
        print(f"{pipe.name:<17}{statistics.median(builds):>14.2f} s{proc:>13.2f} s"
              f"{compute:>13.0f} s{100 * proc / compute:>18.2f} %")


if __name__ == "__main__":
    main()
