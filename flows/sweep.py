"""Prefect flow: sweep one params axis as DVC experiments and collect one table and figure.

    python -m flows.sweep finetune.dp.epsilon 0.5 2 8 --set finetune.dp.enabled=true
    python -m flows.sweep attack.n_shadows 8 16 32 63

Each value is one `dvc exp run --temp` (a Prefect task; the DVC cache is shared, so changing
only an attack setting reuses every trained model). Results: `sweeps/tables/<axis>.csv`,
`sweeps/plots/<axis>.png` (shown by `dvc plots show`), an MLflow run (experiment
`<tracking.experiment>-sweeps`) and a Prefect table artifact. The same experiments can be
queued by hand with `dvc exp run --queue -S <axis>=<value>` and `dvc exp run --run-all`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.dvc_tasks import ensure_env


def exp_name(axis: str, value: str, extra: list[str]) -> str:
    """A DVC-safe experiment name unique to (axis, value, extra settings)."""
    tag = hashlib.sha1(" ".join(extra).encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"sw-{axis}-{value}-{tag}")


@task(name="dvc-experiment", task_run_name="{name}")
def run_experiment(name: str, settings: list[str], mlflow_uri: str) -> None:
    """`dvc exp run --temp -n NAME -S k=v …` (replacing an older experiment of that name).

    Temporary experiments run in a copy of the repo: ``mlflow_uri`` keeps their audits in
    this repo's MLflow store."""
    ensure_env()
    env = dict(os.environ, LEAKAUDIT_MLFLOW_URI=mlflow_uri)
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "exp", "remove", name], capture_output=True, env=env)
    cmd = [*dvc, "exp", "run", "--temp", "-n", name]
    for s in settings:
        cmd += ["-S", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    logger = get_run_logger()
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip() and "model/s" not in line:
            logger.info(line)
    if proc.returncode:
        raise RuntimeError(f"experiment {name} failed (exit {proc.returncode})")


@flow(name="tmi-sweep", log_prints=True)
def sweep(axis: str, values: list[str], extra: list[str] | None = None) -> str:
    """Run every value of ``axis`` as an experiment; write and publish the summary."""
    import dvc.api

    from leakaudit.config import load_params
    from leakaudit.sweeps import plot_sweep, summarise
    from leakaudit.tracking import resolve_uri

    extra = extra or []
    # experiments hang off the commit they were run from: pin it, in case HEAD moves meanwhile
    base_rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    params = load_params()
    uri = resolve_uri(params.tracking.uri)
    names = {exp_name(axis, v, extra): v for v in values}
    for name, value in names.items():
        run_experiment(name, [f"{axis}={value}", *extra], uri)
    table = summarise(dvc.api.exp_show(revs=[base_rev]), axis, names)
    summary, curves = Path("sweeps/tables") / f"{axis}.csv", Path("sweeps/plots") / f"{axis}.png"
    for d in (summary.parent, curves.parent):
        d.mkdir(parents=True, exist_ok=True)
    table.to_csv(summary, index=False)
    plot_sweep(table, curves)
    if params.tracking.enabled:
        import mlflow

        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(f"{params.tracking.experiment}-sweeps")
        with mlflow.start_run(run_name=f"sweep-{axis}", tags={"axis": axis}):
            mlflow.log_params({"axis": axis, "values": ",".join(values),
                               "extra": " ".join(extra)})
            mlflow.log_artifact(str(summary))
            mlflow.log_artifact(str(curves))
    rows = table.round(4).astype(object).where(table.notna(), None).to_dict("records")
    create_table_artifact(key=re.sub(r"[^a-z0-9-]", "-", f"sweep-{axis}".lower()), table=rows)
    print(table[["value", "attack", "auc", "auc_low", "auc_high", "tpr_at_1pct_fpr",
                 "finetune_test_accuracy"]].to_string(index=False))
    return str(summary)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("axis", help="dotted params key, e.g. attack.n_shadows")
    ap.add_argument("values", nargs="+")
    ap.add_argument("--set", action="append", default=[], help="extra key=value for every run")
    args = ap.parse_args(argv)
    sweep(args.axis, args.values, args.set)


if __name__ == "__main__":
    main()
