"""Stage `targets`: the seeded PII candidate pool, the attacker's targets among them, and the
victims' balanced membership masks over every candidate."""

from leakaudit.backdoor.lm.data import candidate_pool
from leakaudit.backdoor.targets import write_targets
from tasks.backdoor._common import stage

SECTIONS = ("base", "targets", "victims")


def main() -> None:
    with stage("targets", SECTIONS, torch=False) as s:
        p = s.params
        pool = candidate_pool(p.targets.n_candidates, p.base.seed, p.targets.locale)
        s.metrics |= write_targets(pool, "bd_candidates", s.out, p, s.audit_id)


if __name__ == "__main__":
    main()
