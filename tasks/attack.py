"""Stage `attack`: every registered attack over the signals → the scores table, under the real
membership labels, under ``attack.null_draws`` independent random labellings (the null control)
and under ``attack.structured_draws`` fresh balanced masks (the structured null)."""

import numpy as np
import pandas as pd

from leakaudit.core.memory import keep_freed_memory
from leakaudit.core.progress import progress
from leakaudit.tmi.attack_inputs import build_inputs, label_sets
from leakaudit.tmi.attacks.registry import ATTACKS, run_attack
from leakaudit.tmi.data.splits import population
from leakaudit.tmi.signals import expect_grid, to_arrays
from tasks._stage import stage


def main() -> None:
    keep_freed_memory()  # the metaclassifiers' large temporaries would page-fault afresh
    with stage("attack") as s:
        p = s.params
        points, members = s.read("points"), s.read("membership")
        models = np.sort(members.model_id.unique())
        pop = population(points, p.query.n_population).point_id.to_numpy()
        queried = np.sort(np.r_[points.point_id[points.challenge].to_numpy(), pop])

        def signals(view: str):
            return expect_grid(to_arrays(s.read("signals", view=view)), models, queried,
                               str(s.path("signals", view=view)))

        fin = signals("finetuned")
        pre = (signals("pretrained") if any(ATTACKS[a].white_box for a in p.attack.attacks)
               else None)
        challenge = np.setdiff1d(queried, pop)
        inputs = build_inputs(fin, members, points, p.attack.n_victims, p.base.seed, pre, pop)
        vict = inputs.victims
        frames = []
        sets = label_sets(inputs, p.attack, p.base.seed)
        n_sets = 1 + p.attack.null_draws + p.attack.structured_draws
        for labels, x in progress(sets, "attack label sets", "set", n_sets):
            for name in p.attack.attacks:
                scores = run_attack(name, x, p.attack, p.base.seed, s.device)
                frames.append(pd.DataFrame({
                    "labels": labels, "attack": name,
                    "victim_id": np.repeat(fin.model_ids[vict], len(challenge)).astype(np.int64),
                    "point_id": np.tile(challenge, len(vict)).astype(np.int64),
                    "score": scores.reshape(-1).astype(np.float64),
                    "member": x.member[vict].reshape(-1),
                }))
        s.write("scores", pd.concat(frames))
        s.metrics |= {"n_victims": len(vict), "n_points": len(challenge),
                      "null_draws": p.attack.null_draws,
                      "structured_draws": p.attack.structured_draws}


if __name__ == "__main__":
    main()
