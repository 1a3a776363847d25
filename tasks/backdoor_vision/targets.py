"""Stage `targets`: the candidate pool (training images no model has seen), the attacker's
targets among them, their random wrong labels, and the victims' balanced membership masks."""

import numpy as np
import pandas as pd

from leakaudit.backdoor.targets import targets_tables
from leakaudit.backdoor.vision.data import load_split, random_wrong_labels, split_indices
from tasks._stage import stage


def main() -> None:
    with stage("targets") as s:
        p = s.params
        idx = split_indices(p.images, p.targets.n_candidates, p.base.seed)["candidates"]
        labels = load_split(p.images.path, "train").y[idx]
        pool = pd.DataFrame({
            "candidate_id": np.arange(len(idx), dtype=np.int64),
            "source_index": idx.astype(np.int64),
            "label": labels,
            "poison_label": random_wrong_labels(labels, p.base.seed),
        })
        for name, table in targets_tables(pool, p).items():
            s.write(name, table)
        s.metrics |= {"n_candidates": len(pool), "n_targets": p.targets.n_targets}


if __name__ == "__main__":
    main()
