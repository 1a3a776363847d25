"""Stage `targets`: the candidate pool (pool examples no model has seen), the attacker's
targets among them and their random wrong labels."""

import numpy as np
import pandas as pd

from leakaudit.backdoor.targets import targets_tables
from leakaudit.backdoor.vision.data import random_wrong_labels
from tasks._stage import stage


def main() -> None:
    with stage("targets") as s:
        p, domain = s.params, s.pipeline.domain
        idx = domain.parts(p)["candidates"]
        labels = domain.labels(p)[idx]
        pool = pd.DataFrame({
            "candidate_id": np.arange(len(idx), dtype=np.int64),
            "source_index": idx.astype(np.int64),
            "label": labels,
            "poison_label": random_wrong_labels(labels, p.base.seed, domain.n_classes),
        })
        for name, table in targets_tables(pool, p).items():
            s.write(name, table)
        s.metrics |= {"n_candidates": len(pool), "n_targets": p.targets.n_targets}


if __name__ == "__main__":
    main()
