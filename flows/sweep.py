"""Prefect flow: sweep one params axis as DVC experiments and collect one table and figure.

    python -m flows.sweep finetune.dp.epsilon 0.5 2 8 --set finetune.dp.enabled=true
    python -m flows.sweep attack.n_shadows 8 16 32 63
    python -m flows.sweep --pipeline backdoor victims.repeats 1 5 10
    python -m flows.sweep --pipeline backdoor-vision poison.alpha 0.1 0.3 0.5

First the stages no swept key reaches are reproduced once in the workspace (a no-op when they
are up to date); then each value is one `dvc exp run --temp` (a Prefect task; the DVC cache is
shared, so changing only an attack setting reuses every trained model).
Results: `sweeps/tables/<axis>.csv`,
`sweeps/plots/<axis>.png` (shown by `dvc plots show`), an MLflow run (experiment
`<tracking.experiment>-sweeps`) and a Prefect table artifact. ``--pipeline backdoor`` sweeps
the privacy-backdoor audit instead: it runs in backdoor/ and writes backdoor/sweeps/…, with
both arms, the amplification and the stealth cost per value (MLflow: one step per value);
``--pipeline backdoor-vision`` likewise in backdoor-vision/.
The same experiments can be queued by hand with `dvc exp run --queue -S <axis>=<value>` and
`dvc exp run --run-all`.
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
from leakaudit.core.registry import PIPELINES


def exp_name(axis: str, value: str, extra: list[str]) -> str:
    """A DVC-safe experiment name unique to (axis, value, extra settings)."""
    tag = hashlib.sha1(" ".join(extra).encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"sw-{axis}-{value}-{tag}")


def _touches(param: str, key: str) -> bool:
    """Whether a stage's params entry ``param`` covers (or lies under) the swept ``key``
    (``""``: a whole params file)."""
    return param in ("", key) or key.startswith(param + ".") or param.startswith(key + ".")


def _stage_params(stage: dict) -> list[str]:
    """A dvc.yaml stage's params keys (``- key`` or ``- file: [keys]``; a bare file: ``""``)."""
    keys: list[str] = []
    for entry in stage.get("params", []):
        if isinstance(entry, dict):
            for listed in entry.values():
                keys += list(listed) if listed else [""]
        else:
            keys.append(entry)
    return keys


def _lookup(params: dict, dotted: str):
    node = params
    for part in dotted.split("."):
        node = node[part]
    return node


def resolved_stages(dvc_yaml: Path) -> dict[str, dict]:
    """The stages of ``dvc_yaml`` with ``foreach`` groups expanded as DVC names them
    (``name@item``, ``${item}`` substituted); lists are resolved from the pipeline's
    params.yaml."""
    import re

    import yaml

    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    params_file = dvc_yaml.parent / "params.yaml"
    params = yaml.safe_load(params_file.read_text()) if params_file.exists() else {}
    out: dict[str, dict] = {}
    for name, st in stages.items():
        if "foreach" not in st:
            out[name] = st
            continue
        items = st["foreach"]
        if isinstance(items, str):
            items = _lookup(params, re.fullmatch(r"\$\{(.+)\}", items.strip()).group(1))
        for item in items:
            text = yaml.safe_dump(st["do"]).replace("${item}", str(item))
            out[f"{name}@{item}"] = yaml.safe_load(text)
    return out


def shared_stages(dvc_yaml: Path, keys: list[str]) -> list[str]:
    """The stages of ``dvc_yaml`` that no swept key reaches: none of their params is (or
    contains) a swept key, and every stage whose outputs they read is shared too. Every
    experiment of the sweep runs these stages with the same inputs."""
    stages = resolved_stages(dvc_yaml)
    producer = {out if isinstance(out, str) else next(iter(out)): name
                for name, st in stages.items() for out in st.get("outs", [])}

    def upstream(dep: str) -> set[str]:  # a dependency on a directory reads every output in it
        return {name for out, name in producer.items()
                if out == dep or out.startswith(dep.rstrip("/") + "/")}

    shared: list[str] = []
    for name, st in stages.items():  # dvc.yaml lists stages upstream first
        reads = set().union(*(upstream(d) for d in st.get("deps", [])))
        if reads <= set(shared) and not any(
                _touches(p, k) for p in _stage_params(st) for k in keys):
            shared.append(name)
    return shared


@task(name="dvc-shared-stages")
def reproduce_shared(stages: list[str], cwd: str) -> None:
    """`dvc repro` of the stages every experiment shares, in the workspace, first: the
    experiments then find them in dvc.lock and the cache instead of each running them again
    (DVC does not fall back to its run cache when a committed dvc.lock names outputs that
    this machine's cache lacks)."""
    if not stages:
        return
    ensure_env()
    proc = subprocess.run([sys.executable, "-m", "dvc", "repro", *stages], capture_output=True,
                          text=True, cwd=cwd)
    logger = get_run_logger()
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip():
            logger.info(line)
    if proc.returncode:
        raise RuntimeError(f"dvc repro {' '.join(stages)} failed (exit {proc.returncode})")


@task(name="dvc-experiment", task_run_name="{name}")
def run_experiment(name: str, settings: list[str], mlflow_uri: str, cwd: str = ".") -> None:
    """`dvc exp run --temp -n NAME -S k=v …` (replacing an older experiment of that name).

    Temporary experiments run in a copy of the repo: ``mlflow_uri`` keeps their audits in
    this repo's MLflow store."""
    ensure_env()
    env = dict(os.environ, LEAKAUDIT_MLFLOW_URI=mlflow_uri)
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "exp", "remove", name], capture_output=True, env=env, cwd=cwd)
    cmd = [*dvc, "exp", "run", "--temp", "-n", name]
    for s in settings:
        cmd += ["-S", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    logger = get_run_logger()
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip() and "model/s" not in line:
            logger.info(line)
    if proc.returncode:
        raise RuntimeError(f"experiment {name} failed (exit {proc.returncode})")


def experiment_rows(base_rev: str, cwd: Path, metrics_file: str = "metrics.json") -> list[dict]:
    """One flat row per experiment of ``base_rev``: its name, then the metrics and params of
    the swept pipeline's own files only (``dvc exp show --json`` keeps them per file; the
    flat ``dvc.api.exp_show`` merges every pipeline's files and renames colliding keys)."""
    import json

    from leakaudit.core.tracking import flatten

    ensure_env()
    out = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json", "--rev",
                          base_rev], capture_output=True, text=True, check=True).stdout
    prefix = "" if str(cwd) == "." else f"{Path(cwd).as_posix()}/"
    rows = []
    for commit in json.loads(out):
        for exp in commit.get("experiments") or []:
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                row = {"Experiment": rev.get("name") or exp.get("name")}
                for kind, file in (("params", "params.yaml"), ("metrics", metrics_file)):
                    entry = (data.get(kind) or {}).get(prefix + file) or {}
                    row.update(flatten(entry.get("data") or {}))
                rows.append(row)
    return rows


@flow(name="audit-sweep", log_prints=True)
def sweep(axis: str, values: list[str], extra: list[str] | None = None,
          pipeline: str = "tmi") -> str:
    """Run every value of ``axis`` as an experiment of ``pipeline`` (any registered audit);
    write and publish the summary; return the summary table's path."""
    from leakaudit.core.registry import get as get_pipeline
    from leakaudit.core.tracking import resolve_uri

    pipe = get_pipeline(pipeline)
    extra = extra or []
    cwd = Path(pipe.folder)
    # experiments hang off the commit they were run from: pin it, in case HEAD moves meanwhile
    base_rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    tracking = pipe.load(pipe.params_file()).tracking
    uri = resolve_uri(tracking.uri) if pipe.folder == "." else store_uri(tracking.uri, cwd)
    names = {exp_name(axis, v, extra): v for v in values}
    keys = [axis, *(e.split("=", 1)[0] for e in extra)]
    reproduce_shared(shared_stages(cwd / "dvc.yaml", keys), str(cwd))
    for name, value in names.items():
        run_experiment(name, [f"{axis}={value}", *extra], uri, str(cwd))
    rows = experiment_rows(base_rev, cwd, pipe.metrics_file)
    summary = cwd / "sweeps/tables" / f"{axis}.csv"
    curves = cwd / "sweeps/plots" / f"{axis}.png"
    for d in (summary.parent, curves.parent):
        d.mkdir(parents=True, exist_ok=True)
    summariser = pipe.sweeps()
    table = summariser.summarise(rows, axis, names)
    if table.empty:
        raise RuntimeError(f"no metrics found for experiments {sorted(names)}")
    steps: list[dict[str, float]] = summariser.curve_metrics(table)
    table.to_csv(summary, index=False)
    summariser.plot_sweep(table, curves)
    if tracking.enabled:
        import mlflow

        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(f"{tracking.experiment}-sweeps")
        with mlflow.start_run(run_name=f"sweep-{axis}", tags={"axis": axis,
                                                              "pipeline": pipeline}):
            mlflow.log_params({"axis": axis, "values": ",".join(values),
                               "extra": " ".join(extra)})
            for step, metrics in enumerate(steps):  # one step per value: curves in the UI
                mlflow.log_metrics(metrics, step=step)
            mlflow.log_artifact(str(summary))
            mlflow.log_artifact(str(curves))
    rows_out = table.round(4).astype(object).where(table.notna(), None).to_dict("records")
    create_table_artifact(key=re.sub(r"[^a-z0-9-]", "-", f"sweep-{pipeline}-{axis}".lower()),
                          table=rows_out)
    print(table[summariser.SHOWN].to_string(index=False))
    return str(summary)


def store_uri(uri: str, base: Path) -> str:
    """A relative sqlite URI made absolute against ``base`` (temporary experiments run in a
    copy of the repo; their audits must land in this checkout's store)."""
    import os

    uri = os.environ.get("LEAKAUDIT_MLFLOW_URI", uri)
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix):].startswith("/"):
        return prefix + str((base / uri[len(prefix):]).resolve())
    return uri


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("axis", help="dotted params key, e.g. attack.n_shadows")
    ap.add_argument("values", nargs="+")
    ap.add_argument("--set", action="append", default=[], help="extra key=value for every run")
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), default="tmi")
    args = ap.parse_args(argv)
    sweep(args.axis, args.values, args.set, args.pipeline)


if __name__ == "__main__":
    main()
