"""Stage `pretrain`: M models, each on its half of the pretraining pool."""

import pandas as pd

from leakaudit import fleet
from leakaudit.tables import read_table, write_table
from tasks._stage import MODELS, OUT, stage

SECTIONS = ("base", "data", "model", "pretrain")


def fingerprints(params, points: pd.DataFrame, members: pd.DataFrame) -> dict[int, str]:
    """Per model: its recipe and the source indices it trains on (and, for batched training,
    which is equal only up to float reassociation, the trainer and group size)."""
    src = points.set_index("point_id").source_index
    recipe = params.model_dump(include=set(SECTIONS))
    if params.execution.executor == "batched":
        recipe["trainer"] = f"batched-{params.execution.group_size}"
    return {
        int(m): fleet.fingerprint(recipe, sorted(src[g.point_id[g.trained]].tolist()))
        for m, g in members.groupby("model_id")
    }


def main() -> None:
    with stage("pretrain", SECTIONS) as s:
        p = s.params
        points = read_table(OUT / "prepare/points.parquet", "points")
        members = read_table(OUT / "prepare/membership.parquet", "membership")
        src = points.set_index("point_id").source_index
        test_idx = src[points.point_id[points.role == "pretrain_test"]].to_numpy()
        train_idx = {int(m): src[g.point_id[g.trained]].to_numpy()
                     for m, g in members.groupby("model_id")}
        prints = fingerprints(p, points, members)
        stats = fleet.run_fleet(
            MODELS / "pretrain", sorted(train_idx), prints, fleet.pretrain_job,
            lambda m, d, par: (p, m, train_idx[m], test_idx, d, prints[m], par),
            p.execution, "pretrain", fleet.pretrain_group_job,
            lambda ms, ds: (p, ms, [train_idx[m] for m in ms], test_idx, ds,
                            [prints[m] for m in ms]),
        )
        table = pd.DataFrame([{"model_id": m, "stage": "pretrain", **fleet.STATS_DEFAULTS, **st}
                              for m, st in sorted(stats.items())])
        write_table(table, s.out / "model_stats.parquet", "model_stats", audit_id=s.audit_id)
        s.metrics |= {"test_accuracy_mean": table.test_accuracy.mean(),
                      "train_accuracy_mean": table.train_accuracy.mean()}


if __name__ == "__main__":
    main()
