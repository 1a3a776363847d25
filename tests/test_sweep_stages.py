"""Which stages a sweep reproduces once in the workspace before its experiments."""

from pathlib import Path

from flows.sweep import shared_stages

DVC_YAML = """
stages:
  pretrain:
    cmd: x
    params: [base, lm]
    outs: [models/base]
  targets:
    cmd: x
    params: [base.seed, targets]
    outs: [outputs/targets.parquet]
  poison:
    cmd: x
    deps: [models/base, outputs/targets.parquet]
    params: [poison]
    outs: [models/poisoned]
  evaluate:
    cmd: x
    deps: [models/poisoned]
    params: [{params.yaml: [evaluate]}]
    outs: [{metrics.json: {cache: false}}]
"""


def test_shared_stages_are_those_no_swept_key_reaches_upstream_included(tmp_path: Path):
    f = tmp_path / "dvc.yaml"
    f.write_text(DVC_YAML)
    assert shared_stages(f, ["evaluate.bootstrap"]) == ["pretrain", "targets", "poison"]
    assert shared_stages(f, ["poison.alpha"]) == ["pretrain", "targets"]
    assert shared_stages(f, ["targets.n_targets"]) == ["pretrain"]
    # a swept parent key reaches every stage reading a key under it
    assert shared_stages(f, ["base"]) == []
    assert shared_stages(f, ["base.threads"]) == ["targets"]
    assert shared_stages(f, ["lm.layers", "poison.steps"]) == ["targets"]


FOREACH_YAML = """
stages:
  train:
    foreach: ${replicates.seeds}
    do:
      cmd: x --replicate ${item}
      params: [model]
      outs:
        - out/seed-${item}/model
  attack:
    foreach: ${replicates.seeds}
    do:
      cmd: x
      deps:
        - out/seed-${item}/model
      params: [attack]
      outs:
        - out/seed-${item}/scores
  evaluate:
    cmd: x
    deps: [out]
    params: [replicates, evaluate]
"""


def test_foreach_stages_expand_per_replicate(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("replicates: {seeds: [1, 2]}\n")
    f = tmp_path / "dvc.yaml"
    f.write_text(FOREACH_YAML)
    assert shared_stages(f, ["evaluate.bootstrap"]) == ["train@1", "train@2", "attack@1",
                                                       "attack@2"]
    # the evaluate stage reads the whole directory: swept attack params reach it too
    assert shared_stages(f, ["attack.tmi.epochs"]) == ["train@1", "train@2"]
    assert shared_stages(f, ["replicates.seeds"]) == ["train@1", "train@2", "attack@1",
                                                     "attack@2"]
