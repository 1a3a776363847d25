"""The privacy-backdoor audits' evaluation, shared by the language-model and vision pipelines
(their candidate and score tables differ, :mod:`leakaudit.core.registry`; the analysis is the same,
:mod:`leakaudit.backdoor.analysis`): best-vs-best amplification first, then every score of
both arms on the targets and the non-targets, paired clustered intervals, low-FPR evidence,
stealth; a ROC plot of both arms; the MLflow record. :func:`evaluation_tables` is pure
(DataFrames in, tables out); :func:`evaluate` reads a pipeline's outputs and writes its
results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leakaudit.backdoor.analysis import BEST, BackdoorGrid, backdoor_grid, backdoor_table
from leakaudit.backdoor.arms import ARMS
from leakaudit.backdoor.dp_audit import AUDIT as DP_AUDIT
from leakaudit.backdoor.dp_audit import check_claim, dp_audit_rows, guesses_per_side
from leakaudit.backdoor.pipeline import BackdoorPipeline
from leakaudit.backdoor.report import verdict
from leakaudit.core.layout import PLOTS
from leakaudit.core.plots import write_roc
from leakaudit.core.statistics import entries as metric_entries
from leakaudit.core.statistics import json_value
from leakaudit.core.store import write_json
from leakaudit.core.tables import read_table, write_table

MIN_PAIRS = 10  # fewer victim pairs: a replicate's interval under-states victim variance


def audit_rows(values: dict[int, dict[str, float]], attack: str) -> pd.DataFrame:
    """Per-replicate audit measurements (stealth, design counts) and their mean (replicate
    −1; low/high = the smallest and largest replicate) in the ``bd_metrics`` layout."""
    rows = []
    keys = list(dict.fromkeys(k for s in values.values() for k in s))
    for key in keys:
        found = {seed: float(s[key]) for seed, s in values.items() if key in s}
        v = np.array(list(found.values()))
        for seed, x in [*found.items(), (-1, None)]:
            rows.append({"replicate": seed, "candidates": "audit", "attack": attack,
                         "metric": key, "value": float(v.mean()) if x is None else x,
                         "low": float(v.min()) if x is None else x,
                         "high": float(v.max()) if x is None else x,
                         "negatives": np.nan, "negative_points": np.nan, "reliable": True})
    return pd.DataFrame(rows)


def run_grids(runs: dict[int, dict[str, Any]], score_names: tuple[str, ...]
              ) -> dict[int, BackdoorGrid]:
    """Each replicate's victims × candidates grid (:func:`backdoor_grid`), by seed."""
    return {s: backdoor_grid(r["scores"], r["members"],
                             r["candidates"].set_index("candidate_id").target, score_names, s)
            for s, r in runs.items()}


def evaluation_tables(runs: dict[int, dict[str, Any]], score_names: tuple[str, ...],
                      p: Any, by_seed: dict[int, BackdoorGrid] | None = None
                      ) -> tuple[pd.DataFrame, dict]:
    """(``bd_metrics`` table, best-score picks per seed) over replicates: ``runs`` maps a
    seed to its ``candidates``, ``members``, ``scores`` DataFrames and ``stealth`` dict
    (``by_seed``: their grids, when already built)."""
    seeds = sorted(runs)
    by_seed = by_seed or run_grids(runs, score_names)
    grids = [by_seed[s] for s in seeds]
    e = p.evaluate
    table, picks = backdoor_table(grids, seeds, score_names, e.fpr_targets, e.bootstrap,
                                  e.confidence)
    design = {s: {"victim_pairs": len(np.unique(g.victim_cluster)),
                  "targets": int(g.target.sum()), "non_targets": int((~g.target).sum())}
              for s, g in zip(seeds, grids, strict=True)}
    parts = [table, audit_rows({s: runs[s]["stealth"] for s in seeds}, "stealth"),
             audit_rows(design, "design")]
    if p.victims.membership == "bernoulli":  # the one-run DP audit's canary design
        parts += [dp_audit_rows(by_seed, p), audit_rows(
            {s: _dp_settings(by_seed[s], p) for s in seeds}, DP_AUDIT)]
    return pd.concat(parts, ignore_index=True), picks


def _dp_settings(grid: BackdoorGrid, p: Any) -> dict[str, float]:
    """What the one-run audit's bounds rest on, beside them in metrics.json."""
    canaries = int(grid.target.sum())
    out = {"delta": p.victims.dp.delta, "victims_per_arm": len(grid.member),
           "canaries_per_victim": canaries,
           "guesses_per_side": guesses_per_side(canaries, p.evaluate.dp_audit.guess_fraction)}
    return ({"claimed_epsilon": p.victims.dp.epsilon} if p.victims.dp.enabled else {}) | out


def entries(rows: pd.DataFrame) -> dict[str, float | str | None]:
    """metrics.json entries of these rows (:func:`leakaudit.core.statistics.entries`; a
    constant such as a stealth measurement has no interval)."""
    return metric_entries(rows.itertuples(), keep_degenerate=False)


def summary_json(table: pd.DataFrame) -> dict:
    """metrics.json: the mean over replicates, best-vs-best amplification first, then each
    score's amplification and arms on the targets, the target specificity, the non-targets,
    stealth, and each replicate's best-vs-best TPR ratio."""
    top = table[table.replicate == -1]
    order = {a: i for i, a in enumerate([f"amplification:{BEST}", *(f"{a}:{BEST}"
                                                                        for a in ARMS)])}
    out: dict[str, Any] = {}
    targets = top[(top.candidates == "targets") & ~top.attack.str.startswith(DP_AUDIT)]
    for attack, rows in sorted(targets.groupby("attack", sort=False),
                               key=lambda kv: order.get(kv[0], len(order))):
        out[attack] = entries(rows)
    non = top[top.candidates == "non_targets"]
    out["non_targets"] = {a: entries(rows) for a, rows in non.groupby("attack", sort=False)}
    audit = top[top.candidates == "audit"]
    out["stealth"] = {r.metric.removeprefix("stealth."): json_value(r.value) for r in
                      audit[audit.attack == "stealth"].itertuples()}
    design = {r.metric: json_value(r.value) for r in audit[audit.attack == "design"].itertuples()}
    if design:
        # a cluster bootstrap over few victim pairs under-states the victims' variance within
        # a replicate; replicates (fresh victims each) are what covers it
        design["replicates"] = int(table[table.replicate >= 0].replicate.nunique())
        design["few_victim_pairs"] = float(design["victim_pairs"] < MIN_PAIRS)
        out["design"] = design
    dp = top[top.attack.str.startswith(DP_AUDIT)]
    if len(dp):
        settings = dp[dp.candidates == "audit"]
        out[DP_AUDIT] = {r.metric: _setting(r.metric, r.value) for r in settings.itertuples()}
        out[DP_AUDIT].setdefault("claimed_epsilon", "none (victims without DP)")
        for attack, rows in dp[dp.candidates == "targets"].groupby("attack", sort=False):
            out[DP_AUDIT][attack.split(":", 1)[1]] = {
                k: int(v) if k in _COUNTS else v for k, v in entries(rows).items()}
    out = {"verdict": verdict(out), **out}
    per = table[(table.replicate >= 0) & (table.attack == f"amplification:{BEST}")
                & (table.metric == "tpr_at_1pct_fpr_ratio")]
    if per.replicate.nunique() > 1:
        out["replicates"] = {f"seed-{r.replicate}" + ("" if r.reliable else "_unreliable"):
                             json_value(r.value) for r in per.itertuples()}
    return out


_COUNTS = {"correct", "guesses", "canaries", "victims_per_arm", "canaries_per_victim",
           "guesses_per_side"}


def _setting(name: str, value: float) -> float | int | str | None:
    """A DP-audit setting for metrics.json: counts as integers, δ unrounded."""
    if name in _COUNTS:
        return int(value)
    return float(value) if name == "delta" else json_value(value)


def best_long(grid: BackdoorGrid, picks: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The ROC plot's rows over one replicate's targets: each arm's raw −loss, calibrated and
    ``best`` (each half of the targets scored by the pick made on the other half; pooled, so
    exact when both halves picked the same score)."""
    frames = []
    for arm in ARMS:
        for name in ("neg_loss", "calibrated", BEST):
            if name == BEST:
                cols = [grid.half == h for h in (0, 1)]
                s = np.concatenate([grid.scores[f"{arm}:{picks[arm][h]}"][:, c]
                                    for h, c in enumerate(cols)], axis=1)
                y = np.concatenate([grid.member[:, c] for c in cols], axis=1)
            else:
                s, y = grid.scores[f"{arm}:{name}"][:, grid.target], grid.member[:, grid.target]
            frames.append(pd.DataFrame({"attack": f"{arm}:{name}", "score": s.reshape(-1),
                                        "member": y.reshape(-1)}))
    return pd.concat(frames, ignore_index=True)


def read_run(pipe: BackdoorPipeline, root: Path = Path(".")) -> dict[str, Any]:
    """A backdoor pipeline's outputs (``root/outputs``) as :func:`evaluation_tables` takes
    them (its tables and records where its declaration puts them)."""
    stealth = {}
    for stage in ("poison", "victims"):
        stealth |= json.loads(pipe.path(f"{stage}.record", root=root).read_text())["metrics"]
    tables = {key: read_table(pipe.path(name, root=root), pipe.table(name).schema)
              for key, name in (("candidates", "candidates"), ("members", "membership"),
                                ("scores", "scores"))}
    return tables | {"stealth": {k: v for k, v in stealth.items()
                                 if isinstance(v, int | float)}}


def evaluate(p: Any, pipe: BackdoorPipeline) -> dict[str, float]:
    """Read the ``pipe`` audit's outputs (in the working directory), write metrics.json, the
    metrics table, the best-score picks, the ROC plot and the MLflow record (last: a tracking
    outage loses nothing); return the stage's headline metrics."""
    score_names, audit_id = pipe.scores, p.audit_id()
    out = pipe.stage_dir("evaluate")
    runs = {p.base.seed: read_run(pipe)}
    grids = run_grids(runs, score_names)
    table, picks = evaluation_tables(runs, score_names, p, grids)
    summary = summary_json(table)
    write_json("metrics.json", summary, sort_keys=False)  # best-vs-best first
    write_table(table, pipe.path("metrics"), pipe.table("metrics").schema, audit_id=audit_id)
    write_json(pipe.path("best_scores"), {f"seed-{s}": {arm: {"half-0": a, "half-1": b}
                                                        for arm, (a, b) in v.items()}
                                          for s, v in picks.items()})
    long = best_long(grids[p.base.seed], picks[p.base.seed])
    aucs = {a: {"auc": float(summary.get(a, {}).get("auc") or np.nan)} for a in long.attack}
    run = runs[p.base.seed]
    write_roc(long, aucs, PLOTS, f"clean vs poisoned: {run['members'].victim_id.nunique()} "
              f"victims × {int(run['candidates'].target.sum())} targets")

    flat = flat_metrics(table)
    ids: dict = {"audit_id": audit_id, "mlflow_run_id": None}
    if p.tracking.enabled:
        from leakaudit.backdoor.tracking import log_backdoor

        per_arm = {arm: {k.split(".", 1)[1]: v for k, v in flat.items()
                         if k.startswith(f"{arm}.")} for arm in ARMS}
        ids = log_backdoor(p, audit_id, flat, per_arm,
                           [PLOTS / "roc.png", PLOTS / "roc.csv", Path("metrics.json"),
                            pipe.path("best_scores")], pipe.name)
    write_json(out / "mlflow.json", ids)
    _print(table, picks)
    check_claim(grids, p)  # last: the numbers behind a violation are written
    return {k: v for k, v in flat.items() if k.startswith(("amplification.best.",
                                                           "clean.best.", "poisoned.best."))
            and k.removesuffix("_unreliable").endswith(("auc", "tpr_at_1pct_fpr",
                                                        "tpr_at_1pct_fpr_ratio", "auc_diff"))}


def flat_metrics(table: pd.DataFrame) -> dict[str, float]:
    """The mean over replicates as flat MLflow keys: ``<attack>.<metric>`` on the targets,
    ``non_targets.…``, ``stealth.…`` (finite values only)."""
    top = table[(table.replicate == -1) & np.isfinite(table.value.astype(float))]
    prefix = {"targets": "", "non_targets": "non_targets.", "audit": ""}
    return {(prefix[r.candidates] + (r.metric if r.attack == "stealth"
                                     else f"{r.attack}.{r.metric}")).replace(":", ".")
            + ("" if r.reliable else "_unreliable"): float(r.value) for r in top.itertuples()}


def _print(table: pd.DataFrame, picks: dict) -> None:
    top = table[(table.replicate == -1) & (table.candidates == "targets")]
    shown = top[top.attack.str.contains(f":{BEST}|:neg_loss|:calibrated")
                & top.metric.isin(["auc", "tpr_at_1pct_fpr", "auc_diff",
                                   "tpr_at_1pct_fpr_ratio"])]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"best scores (per target half): {picks}")
        print(shown.pivot(index="attack", columns="metric", values="value").round(3))
