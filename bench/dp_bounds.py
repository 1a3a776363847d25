"""Self-check of the empirical ε bounds (leakaudit/core/dp_bounds.py) on randomized response at
known ε, and a cross-check against jax-privacy's independent implementation.

Randomized response reports each ±1 bit truthfully with probability e^ε/(1 + e^ε): exactly ε-DP
per bit, so a valid 95 % bound must stay ≤ ε in ≥ 95 % of runs and should approach ε as the
trials grow. Prints, per ε and trial count: the fraction of runs with ε_lb ≤ ε, the median
ε_lb, and the ceiling (a perfect attack with the same trials).

    python bench/dp_bounds.py [--runs 1000] [--jax-python /path/to/venv/bin/python]

``--jax-python``: a Python with `jax-privacy` installed (a scratch venv: it brings jax, which
this tool does not need); the same counts go through `jax_privacy.auditing` and the largest
difference is printed.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from leakaudit.core.dp_bounds import (  # noqa: E402
    OneRunCounts,
    RunCounts,
    one_run_ceiling,
    one_run_counts,
    one_run_epsilon,
    two_ratio_ceiling,
    two_ratio_epsilon,
)

DELTA = 1e-5
EPSILONS = (1.0, 2.0, 4.0, 8.0)


@functools.cache
def _one_run(c: OneRunCounts) -> float:
    return one_run_epsilon(c, DELTA)


@functools.cache
def _two_ratio(c: RunCounts) -> float:
    return two_ratio_epsilon(c, DELTA)


def one_run_table(runs: int, rng: np.random.Generator) -> None:
    print(f"one-run audit: m randomized-response canaries, guesses k+ = k- = m/2, "
          f"δ = {DELTA}, {runs} runs")
    print(f"{'ε':>5} {'m':>6} {'ε_lb ≤ ε':>9} {'median ε_lb':>12} {'ceiling':>8}")
    for eps in EPSILONS:
        for m in (100, 1000, 10000):
            bits = np.where(rng.random((runs, m)) < 0.5, 1, -1)
            keep = rng.random((runs, m)) < 1 / (1 + np.exp(-eps))
            scores = np.where(keep, bits, -bits) + 1e-3 * rng.random((runs, m))
            bounds = np.array([_one_run(one_run_counts(s, b == 1, m // 2, m // 2))
                               for s, b in zip(scores, bits, strict=True)])
            print(f"{eps:5.1f} {m:6d} {np.mean(bounds <= eps):9.3f} {np.median(bounds):12.3f} "
                  f"{one_run_ceiling(m, m, DELTA):8.3f}")


def two_ratio_table(runs: int, rng: np.random.Generator) -> None:
    print(f"\nover runs: n IN and n OUT randomized-response runs, one decision each, "
          f"δ = {DELTA}, {runs} audits")
    print(f"{'ε':>5} {'n':>6} {'ε_lb ≤ ε':>9} {'median ε_lb':>12} {'ceiling':>8}")
    for eps in EPSILONS:
        q = 1 / (1 + np.exp(-eps))
        for n in (16, 100, 1000, 10000):
            tp, fp = rng.binomial(n, q, runs), rng.binomial(n, 1 - q, runs)
            bounds = np.array([_two_ratio(RunCounts(int(a), n, int(b), n))
                               for a, b in zip(tp, fp, strict=True)])
            print(f"{eps:5.1f} {n:6d} {np.mean(bounds <= eps):9.3f} {np.median(bounds):12.3f} "
                  f"{two_ratio_ceiling(n, n, DELTA):8.3f}")


CASES = [(m, r, v, d) for m in (100, 1000, 10000) for r, v in ((50, 40), (100, 90), (100, 100),
         (1000, 700), (1000, 990)) if r < m for d in (0.0, 1e-5)]

_JAX = """
import json, sys
import numpy as np
from jax_privacy import auditing
out = []
for m, r, v, d in json.loads(sys.argv[1]):
    n_in = min(max(v, m // 2), m - (r - v))  # v of the IN canaries and r - v OUT ones score 1
    ins = np.r_[np.ones(v), np.zeros(n_in - v)]
    outs = np.r_[np.ones(r - v), np.zeros(m - n_in - (r - v))]
    a = auditing.CanaryScoreAuditor(ins, outs)
    at_half = auditing.Explicit(0.5)
    one = a.epsilon_one_run(0.05, max(d, 1e-300), threshold_strategy=at_half)  # needs δ > 0
    cp = a.epsilon_clopper_pearson(0.05, d, one_sided=False, threshold_strategy=at_half)
    out.append([float(one), float(cp), int(ins.size), int(outs.size)])
print(json.dumps(out))
"""


def cross_check(python: str) -> None:
    """The same counts through jax_privacy.auditing (one-run, and Clopper–Pearson over runs)."""
    proc = subprocess.run([python, "-c", _JAX, json.dumps(CASES)], capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(f"jax-privacy cross-check failed:\n{proc.stderr[-2000:]}")
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\ncross-check against jax-privacy (jax_privacy.auditing, one-sided guesses)")
    print(f"{'m':>6} {'r':>5} {'v':>5} {'δ':>7} {'one-run ours':>13} {'jax-privacy':>12} "
          f"{'CP ours':>8} {'jax-privacy':>12}")
    worst = 0.0
    for (m, r, v, d), (one, cp, n_in, n_out) in zip(CASES, theirs, strict=True):
        ours = one_run_epsilon(OneRunCounts(m, r, v), d)
        ours_cp = two_ratio_epsilon(RunCounts(v, n_in, r - v, n_out), d)
        worst = max(worst, abs(ours - one), abs(ours_cp - cp))
        print(f"{m:6d} {r:5d} {v:5d} {d:7.0e} {ours:13.4f} {one:12.4f} {ours_cp:8.4f} {cp:12.4f}")
    print(f"largest difference: {worst:.2e}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jax-python", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    one_run_table(args.runs, rng)
    two_ratio_table(args.runs, rng)
    if args.jax_python:
        cross_check(args.jax_python)


if __name__ == "__main__":
    main()
