"""Where fan-out work runs: in this process, or as Prefect tasks on a thread, process or Dask
task runner (an existing cluster by address, or a local one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leakaudit.tmi.params import ExecutionParams


def task_runner(ex: ExecutionParams):
    """The Prefect task runner for ``ex.executor`` (not called for ``sequential``)."""
    if ex.executor == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=ex.workers)
    if ex.executor == "processes":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=ex.workers)
    from prefect_dask import DaskTaskRunner

    if ex.dask_address:
        return DaskTaskRunner(address=ex.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": ex.workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def run_jobs(fn: Callable[..., Any], jobs: list[tuple], ex: ExecutionParams,
             name: str = "fleet") -> list[Any]:
    """``[fn(*job) for job in jobs]``, fanned out as one Prefect task per job unless sequential.

    ``fn`` must be a module-level function (it is pickled for processes and Dask)."""
    if ex.executor == "sequential" or len(jobs) <= 1:
        return [fn(*job) for job in jobs]
    from prefect import flow, task

    job_task = task(fn, name=f"{name}-job", task_run_name=f"{name}-{{model_id}}")

    @flow(name=f"{name}-fan-out", task_runner=task_runner(ex))
    def fan_out() -> list[Any]:
        futures = [job_task.submit(*job) for job in jobs]
        return [f.result() for f in futures]

    return fan_out()
