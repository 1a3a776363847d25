"""Stage `targets`: the seeded PII candidate pool, the attacker's targets among them, and the
victims' balanced membership masks over every candidate."""

from leakaudit.backdoor.lm.data import candidate_pool
from leakaudit.backdoor.targets import choose_targets, membership_table
from leakaudit.tables import write_table
from tasks.backdoor._common import stage

SECTIONS = ("base", "targets", "victims")


def main() -> None:
    with stage("targets", SECTIONS, torch=False) as s:
        p = s.params
        pool = candidate_pool(p.targets.n_candidates, p.base.seed, p.targets.locale)
        pool["target"] = choose_targets(len(pool), p.targets.n_targets, p.base.seed)
        write_table(pool, s.out / "candidates.parquet", "bd_candidates", audit_id=s.audit_id)
        write_table(membership_table(pool.candidate_id.to_numpy(), p.victims.n_victims,
                                     p.base.seed),
                    s.out / "membership.parquet", "bd_membership", audit_id=s.audit_id)
        s.metrics |= {"n_candidates": len(pool), "n_targets": int(pool.target.sum())}


if __name__ == "__main__":
    main()
