"""Stage `targets`: the seeded PII candidate pool, the attacker's targets among them, and the
victims' balanced membership masks over every candidate."""

import numpy as np
import pandas as pd

from leakaudit.backdoor.targets import candidate_pool, choose_targets
from leakaudit.data.splits import balanced_mask
from leakaudit.tables import write_table
from tasks.backdoor._common import stage


def main() -> None:
    with stage("targets", ("base", "targets", "victims"), torch=False) as s:
        p = s.params
        pool = candidate_pool(p.targets.n_candidates, p.base.seed, p.targets.locale)
        pool["target"] = choose_targets(len(pool), p.targets.n_targets, p.base.seed)
        write_table(pool, s.out / "candidates.parquet", "bd_candidates", audit_id=s.audit_id)
        k = p.victims.n_victims
        mask = balanced_mask(len(pool), k, p.base.seed, "bd-membership")
        members = pd.DataFrame({
            "victim_id": np.tile(np.arange(k, dtype=np.int64), len(pool)),
            "candidate_id": np.repeat(pool.candidate_id.to_numpy(), k),
            "member": mask.reshape(-1),
        })
        write_table(members, s.out / "membership.parquet", "bd_membership", audit_id=s.audit_id)
        s.metrics |= {"n_candidates": len(pool), "n_targets": int(pool.target.sum())}


if __name__ == "__main__":
    main()
