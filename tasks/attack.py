"""Stage `attack`: every registered attack over the signals → the scores table."""

import numpy as np
import pandas as pd

from leakaudit.attacks import run_attack
from leakaudit.attacks.registry import build_inputs, restrict
from leakaudit.signals import to_arrays
from leakaudit.tables import read_table, write_table
from tasks._stage import OUT, stage


def main() -> None:
    with stage("attack", ("attack",)) as s:
        p = s.params
        points = read_table(OUT / "prepare/points.parquet", "points")
        members = read_table(OUT / "prepare/membership.parquet", "membership")
        fin = to_arrays(read_table(OUT / "query/signals_finetuned.parquet", "signals"))
        pre = None
        if "whitebox_lira" in p.attack.attacks:
            pre = to_arrays(read_table(OUT / "query/signals_pretrained.parquet", "signals"))
        inputs = build_inputs(fin, members, points, p.attack.n_victims, p.base.seed, pre)
        member, vict = inputs.member, inputs.victims
        inputs = restrict(inputs, p.attack.n_shadows, p.attack.n_views, p.base.seed)
        frames = []
        for name in p.attack.attacks:
            scores = run_attack(name, inputs, p.attack, p.base.seed)
            frames.append(pd.DataFrame({
                "attack": name,
                "victim_id": np.repeat(fin.model_ids[vict], len(fin.point_ids)).astype(np.int64),
                "point_id": np.tile(fin.point_ids, len(vict)).astype(np.int64),
                "score": scores.reshape(-1).astype(np.float64),
                "member": member[vict].reshape(-1),
            }))
        write_table(pd.concat(frames), s.out / "scores.parquet", "scores", audit_id=s.audit_id)
        s.metrics |= {"n_victims": len(vict), "n_points": len(fin.point_ids)}


if __name__ == "__main__":
    main()
