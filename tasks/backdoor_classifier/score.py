"""Stage `score`: every candidate (true label) on every victim and on each released
checkpoint (for the calibrated score), each served as ``score.quantise`` says: −loss,
top-5-only log-probability, logit margin."""

import pandas as pd
import torch

from leakaudit.backdoor.arms import score_every_model
from leakaudit.backdoor.serving import quantise, record_serving
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.scores import score_all
from tasks._stage import stage


def main() -> None:
    with stage("score") as s:
        p, domain = s.params, s.pipeline.domain
        cands = s.read("candidates")
        x = domain.candidates(p, cands.source_index.to_numpy())
        y = torch.from_numpy(cands.label.to_numpy())

        served: list[list[str]] = []

        def score(directory):
            model, _ = classifier.load(directory)
            served.append(quantise(model, p.score.quantise))
            z = classifier.logits(model.to(s.device), x, p.score.batch_size, s.device)
            return pd.DataFrame({k: t.double().numpy() for k, t in score_all(z, y).items()})

        table = score_every_model(p.victims.n_victims, cands.candidate_id.to_numpy(), score)
        table = table[["arm", "victim_id", "candidate_id", *s.pipeline.scores]]
        s.write("scores", table)
        s.metrics["n_rows"] = len(table)
        s.metrics |= record_serving(p.score.quantise, served, s.path("serving"))


if __name__ == "__main__":
    main()
