"""Attack quality of an audit with honest uncertainty, from one `dvc repro` in a fresh copy.

Prints, from the audit's own tables (outputs/evaluate/*.parquet):
- every attack's mean over the replicate seeds with its hierarchical-bootstrap interval, and
  the evidence behind each TPR at a fixed FPR (flagged below 20 negatives);
- each replicate's AUC with its two-way cluster-bootstrap interval, and whether one replicate's
  interval covers the spread of the replicate AUCs (the interval width check);
- the paired differences of TMI against every other attack;
- the null control: every random-label draw's AUC with its clustered interval, and the mean
  over draws (it must be 0.50 ± 0.01 and every interval must contain 0.5);
- utility and the wall time from an empty cache.

    python bench/attack_quality.py [--keep DIR] [--preset text] [--seeds 4 5 6] [--set k=v ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, copy_repo, set_params, timed  # noqa: E402

KEYS = ["auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "balanced_accuracy"]


def cell(r) -> str:
    """value [low, high], with the negatives behind a TPR (n/a below 20)."""
    if not r.reliable:
        return f"n/a ({r.negatives:.0f} neg)"
    ev = f" ({r.negatives:.0f} neg, {r.negative_points:.0f} pts)" if r.negatives == r.negatives \
        else ""
    return f"{r.value:.3f} [{r.low:.3f}, {r.high:.3f}]{ev}"


def report(m: pd.DataFrame, comp: pd.DataFrame) -> list[str]:
    """The bench's findings as printable lines; the last ones state pass / fail."""
    out: list[str] = []
    head = m[(m.labels == "membership") & (m.replicate == -1) & (m.attack != "utility")]
    seeds = sorted(int(r) for r in m.replicate[m.replicate >= 0].unique())
    out.append(f"\n== mean over replicates (seeds {seeds}) "
               "(hierarchical bootstrap)")
    out.append(f"  {'attack':<14}" + "".join(f"{k:>38}" for k in KEYS))
    for attack, g in head.groupby("attack", sort=False):
        rows = g.set_index("metric")
        out.append(f"  {attack:<14}" + "".join(f"{cell(rows.loc[k]):>38}" for k in KEYS))

    out.append("\n== per replicate AUC (two-way cluster bootstrap: points × victim pairs)")
    per = m[(m.labels == "membership") & (m.replicate >= 0) & (m.metric == "auc")
            & (m.attack != "utility")]
    checks = []
    for attack, g in per.groupby("attack", sort=False):
        spread = (g.value.min(), g.value.max())
        covers = [(r.low <= spread[0]) and (spread[1] <= r.high) for r in g.itertuples()]
        checks.append(all(covers))
        cells = "  ".join(f"seed {r.replicate}: {r.value:.3f} [{r.low:.3f}, {r.high:.3f}]"
                          for r in g.itertuples())
        out.append(f"  {attack:<14}{cells}   spread {spread[0]:.3f}–{spread[1]:.3f} "
                   f"({spread[1] - spread[0]:.3f}), mean width "
                   f"{(g.high - g.low).mean():.3f}: {'covered' if all(covers) else 'NOT covered'}")

    out.append("\n== paired comparisons, mean over replicates (same resamples for both attacks)")
    c = comp[comp.replicate == -1]
    for (ref, base), g in c.groupby(["attack", "baseline"], sort=False):
        rows = g.set_index("metric")
        d = rows.loc["auc"]
        sign = (f"{ref} better" if d.low > 0 else "baseline better" if d.high < 0
                else "no difference")
        ratios = []
        for key, label in (("tpr_at_1pct_fpr", "1%"), ("tpr_at_0.1pct_fpr", "0.1%")):
            if key in rows.index:
                r = rows.loc[key]
                ratios.append(f"TPR@{label} ratio " + (
                    f"{r.value:.2f} [{r.low:.2f}, {r.high:.2f}]" if r.reliable
                    else f"n/a ({r.negatives:.0f} neg)"))
        out.append(f"  {ref} − {base:<14} AUC {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] "
                   f"({sign});  " + ";  ".join(ratios))

    null = m[m.labels.str.startswith("null") & (m.metric == "auc") & (m.attack != "utility")]
    draws = null[null.labels != "null"]
    out.append(f"\n== null control: {draws.groupby(['replicate', 'labels']).ngroups} "
               "independent random labellings")
    ok_mean, ok_cover = True, True
    for attack, g in draws.groupby("attack", sort=False):
        mean = null[(null.labels == "null") & (null.attack == attack)].iloc[0]
        inside = ((g.low <= 0.5) & (0.5 <= g.high)).all()
        ok_mean &= abs(mean.value - 0.5) <= 0.01
        ok_cover &= bool(inside)
        out.append(f"  {attack:<14} mean {mean.value:.3f} [{mean.low:.3f}, {mean.high:.3f}]; "
                   f"draws {', '.join(f'{v:.3f}' for v in g.value)}; every interval "
                   f"contains 0.5: {'yes' if inside else 'NO'}")
    util = m[(m.attack == "utility") & (m.replicate == -1)]
    out.append("\n  utility: " + ", ".join(f"{r.metric} {r.value:.3f} (models {r.low:.3f}–"
                                          f"{r.high:.3f})" for r in util.itertuples()))
    out.append(f"\ninterval width check (one replicate's interval covers the replicate spread): "
               f"{'pass' if all(checks) else 'FAIL'} for {sum(checks)}/{len(checks)} attacks")
    out.append(f"null control: mean AUC within 0.50 ± 0.01 for every attack: "
               f"{'pass' if ok_mean else 'FAIL'}; every draw's interval contains 0.5: "
               f"{'pass' if ok_cover else 'FAIL'}")
    return out


def tables(repo: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A finished audit's metrics and comparisons tables."""
    from leakaudit.core.tables import read_table
    from leakaudit.tmi.schemas import AUDIT_COMPARISONS, AUDIT_METRICS

    return (read_table(repo / "outputs/evaluate/metrics.parquet", AUDIT_METRICS),
            read_table(repo / "outputs/evaluate/comparisons.parquet", AUDIT_COMPARISONS))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, default=None, help="run in this directory")
    ap.add_argument("--preset", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="replicate seeds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--report", type=Path, default=None, help="only print a finished run's tables")
    args = ap.parse_args()
    if args.report:
        print("\n".join(report(*tables(args.report))))
        return
    repo = copy_repo(args.keep or Path(tempfile.mkdtemp(prefix="bench-quality-")))
    if args.preset:
        from leakaudit.core.presets import apply

        apply(args.preset, repo / "params.yaml")
    if args.seeds:
        set_params(repo / "params.yaml", replicates__seeds=args.seeds)
    for item in args.set:
        key, value = item.split("=", 1)
        set_params(repo / "params.yaml", **{key: yaml.safe_load(value)})
    wall = timed([str(BIN / "dvc"), "repro"], repo)
    m, comp = tables(repo)
    label = " ".join([args.preset or "default", *args.set])
    threads = yaml.safe_load((repo / "params.yaml").read_text())["base"]["threads"]
    print(f"{label}: {wall:.0f} s from an empty cache (all replicates, {threads} torch "
          "threads)")
    print("\n".join(report(m, comp)))


if __name__ == "__main__":
    main()
