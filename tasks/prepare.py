"""Stage `prepare`: roles of every image, challenge points, balanced masks, finetune subsets."""

from leakaudit.tmi.data import load_source
from leakaudit.tmi.data.splits import assign_roles, finetune_subsets, membership
from tasks._stage import stage


def main() -> None:
    with stage("prepare") as s:
        p = s.params
        data = load_source(p)
        points = assign_roles(data, p.prepare, p.base.seed)
        s.write("points", points)
        s.write("membership", membership(points, p.prepare, p.base.seed))
        s.write("finetune_subsets", finetune_subsets(points, p.prepare, p.base.seed))
        s.metrics |= {"n_points": len(points), "n_challenge": int(points.challenge.sum())}


if __name__ == "__main__":
    main()
