"""Stage `finetune`: every pretrained model on the downstream task (its seeded subset)."""

from leakaudit.core import store
from leakaudit.tmi import fleet
from tasks._stage import stage


def main() -> None:
    with stage("finetune") as s:
        p = s.params
        points, members = s.read("points"), s.read("membership")
        subsets = s.read("finetune_subsets")
        src = points.set_index("point_id").source_index
        test_idx = src[points.point_id[points.role == "finetune_test"]].to_numpy()
        subset = {int(m): src[g.point_id].to_numpy() for m, g in subsets.groupby("model_id")}
        parents = fleet.pretrain_fingerprints(p, points, members)
        recipe = p.finetune.model_dump()
        prints = {m: fleet.fingerprint(parents[m], recipe, subset[m].tolist()) for m in subset}

        stats = fleet.run_fleet(
            s.path("finetune_models"), sorted(subset), prints, fleet.finetune_job,
            lambda m, d, par: (p, m, str(store.model_dir(s.path("pretrain_models"), m)), parents[m],
                               subset[m], test_idx, d, prints[m], par),
            p.execution, "finetune",
        )
        table = fleet.stats_table(stats, "finetune")
        s.timings["model_seconds"] = fleet.trained_seconds(stats)
        s.write("finetune_stats", table)
        s.metrics |= {"test_accuracy_mean": table.test_accuracy.mean()}
        if p.finetune.dp.enabled:
            s.metrics |= {"epsilon_spent_max": table.epsilon.max(),
                          "replaced_batchnorm": float(table.replaced_batchnorm.any())}


if __name__ == "__main__":
    main()
