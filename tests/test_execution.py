"""Every execution mode trains bit-identical models (the same seeds, data, order and torch
thread count: a GEMM's reduction split depends on the thread count, so 2 threads and 1 thread
may differ in the last bit, ~1e-9)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from leakaudit.core import store
from leakaudit.core.presets import PRESETS, merge
from leakaudit.tmi import fleet
from leakaudit.tmi.params import parse_params


def tiny_params(**execution):
    import yaml

    base = yaml.safe_load(Path("params.yaml").read_text())
    raw = merge(base, yaml.safe_load((PRESETS / "tiny.yaml").read_text()))
    raw["execution"] = execution
    raw["base"]["threads"] = 1  # the parallel workers' threads_per_worker
    return parse_params(raw)


def train_fleet(tmp_path, **execution):
    p = tiny_params(**execution)
    ids = [0, 1, 2]
    idx = {m: np.arange(20 * m, 20 * m + 20) for m in ids}
    prints = {m: f"fp{m}" for m in ids}
    test = np.arange(200, 260)
    stats = fleet.run_fleet(
        tmp_path, ids, prints, fleet.pretrain_job,
        lambda m, d, par: (p, m, idx[m], test, d, prints[m], par),
        p.execution, "test", fleet.pretrain_group_job,
        lambda ms, ds: (p, ms, [idx[m] for m in ms], test, ds, [prints[m] for m in ms]),
    )
    return stats, {m: store.load_model_state(store.model_dir(tmp_path, m)) for m in ids}


@pytest.mark.parametrize("executor", ["threads", "processes", "dask"])
def test_parallel_modes_match_sequential(tmp_path, executor):
    seq_stats, seq = train_fleet(tmp_path / "seq")
    par_stats, par = train_fleet(tmp_path / executor, executor=executor, workers=2)
    for m, state in seq.items():
        assert all(torch.equal(state[k], par[m][k]) for k in state), (executor, m)
        assert seq_stats[m]["test_accuracy"] == par_stats[m]["test_accuracy"]


def test_existing_dask_cluster_by_address(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        _, par = train_fleet(tmp_path / "d", executor="dask", dask_address=address)
    _, seq = train_fleet(tmp_path / "s")
    assert all(torch.equal(seq[0][k], par[0][k]) for k in seq[0])


def test_batched_executor_matches_sequential_within_tolerance(tmp_path):
    # groups of 2 over 3 models: a full group and a group of one, both through the stacked path
    seq_stats, seq = train_fleet(tmp_path / "seq")
    bat_stats, bat = train_fleet(tmp_path / "bat", executor="batched", group_size=2)
    for m, state in seq.items():
        worst = max((state[k] - bat[m][k]).abs().max().item() for k in state)
        assert worst < 1e-4, (m, worst)
        assert abs(seq_stats[m]["train_loss"] - bat_stats[m]["train_loss"]) < 1e-4


def test_batched_executor_refuses_architectures_it_cannot_stack():
    from leakaudit.core.params import ParamsError

    with pytest.raises(ParamsError, match="execution.executor: got 'batched' with model.arch "
                       "'cnn'.*needs model.arch 'mlp'"):
        parse_params({"model": {"arch": "cnn"}, "execution": {"executor": "batched"}})
