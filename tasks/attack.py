"""Stage `attack`: every registered attack over the signals → the scores table, under the real
membership labels and under ``attack.null_draws`` independent random labellings (null control)."""

import numpy as np
import pandas as pd

from leakaudit.core.progress import progress
from leakaudit.tmi.attack_inputs import build_inputs, label_sets
from leakaudit.tmi.attacks.registry import ATTACKS, run_attack
from leakaudit.tmi.signals import expect_grid, to_arrays
from tasks._stage import stage


def main() -> None:
    with stage("attack") as s:
        p = s.params
        points, members = s.read("points"), s.read("membership")
        models = np.sort(members.model_id.unique())
        challenge = np.sort(points.point_id[points.challenge].to_numpy())

        def signals(view: str):
            return expect_grid(to_arrays(s.read("signals", view=view)), models, challenge,
                               str(s.path("signals", view=view)))

        fin = signals("finetuned")
        pre = (signals("pretrained") if any(ATTACKS[a].white_box for a in p.attack.attacks)
               else None)
        inputs = build_inputs(fin, members, points, p.attack.n_victims, p.base.seed, pre)
        vict = inputs.victims
        frames = []
        sets = label_sets(inputs, p.attack, p.base.seed)
        for labels, x in progress(sets, "attack label sets", "set", 1 + p.attack.null_draws):
            for name in p.attack.attacks:
                scores = run_attack(name, x, p.attack, p.base.seed)
                frames.append(pd.DataFrame({
                    "labels": labels, "attack": name,
                    "victim_id": np.repeat(fin.model_ids[vict], len(fin.point_ids)
                                           ).astype(np.int64),
                    "point_id": np.tile(fin.point_ids, len(vict)).astype(np.int64),
                    "score": scores.reshape(-1).astype(np.float64),
                    "member": x.member[vict].reshape(-1),
                }))
        s.write("scores", pd.concat(frames))
        s.metrics |= {"n_victims": len(vict), "n_points": len(fin.point_ids),
                      "null_draws": p.attack.null_draws}


if __name__ == "__main__":
    main()
