"""Stage `pretrain`: M models, each on its half of the pretraining pool."""

from leakaudit.tmi import fleet
from tasks._stage import stage


def main() -> None:
    with stage("pretrain") as s:
        p = s.params
        points, members = s.read("points"), s.read("membership")
        src = points.set_index("point_id").source_index
        test_idx = src[points.point_id[points.role == "pretrain_test"]].to_numpy()
        train_idx = {int(m): src[g.point_id[g.trained]].to_numpy()
                     for m, g in members.groupby("model_id")}
        prints = fleet.pretrain_fingerprints(p, points, members)
        stats = fleet.run_fleet(
            s.path("pretrain_models"), sorted(train_idx), prints, fleet.pretrain_job,
            lambda m, d, par: (p, m, train_idx[m], test_idx, d, prints[m], par),
            p.execution, "pretrain", fleet.pretrain_group_job,
            lambda ms, ds: (p, ms, [train_idx[m] for m in ms], test_idx, ds,
                            [prints[m] for m in ms]),
        )
        table = fleet.stats_table(stats, "pretrain")
        s.timings["model_seconds"] = fleet.trained_seconds(stats)
        s.write("pretrain_stats", table)
        s.metrics |= {"test_accuracy_mean": table.test_accuracy.mean(),
                      "train_accuracy_mean": table.train_accuracy.mean()}


if __name__ == "__main__":
    main()
