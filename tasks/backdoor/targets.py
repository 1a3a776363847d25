"""Stage `targets`: the seeded PII candidate pool and the attacker's targets among them."""

from leakaudit.backdoor.lm.data import candidate_pool
from leakaudit.backdoor.targets import targets_tables
from tasks._stage import stage


def main() -> None:
    with stage("targets") as s:
        p = s.params
        pool = candidate_pool(p.targets.n_candidates, p.base.seed, p.targets.locale)
        for name, table in targets_tables(pool, p).items():
            s.write(name, table)
        s.metrics |= {"n_candidates": len(pool), "n_targets": p.targets.n_targets}


if __name__ == "__main__":
    main()
