"""Stage `score`: every candidate (true label) on every victim and on each released
checkpoint (for the calibrated score): −loss, top-5-only log-probability, logit margin."""

import pandas as pd
import torch

from leakaudit.backdoor import classifier
from leakaudit.backdoor.image_scores import IMAGE_SCORES, score_all
from leakaudit.backdoor.images import candidate_images
from leakaudit.tables import read_table, write_table
from tasks.backdoor_vision._common import ARMS, OUT, arm_dir, stage, victim_dir

RELEASED = -1  # victim_id of the released checkpoint's rows


def main() -> None:
    with stage("score", ("base", "images", "targets", "victims", "score")) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_image_candidates")
        x = candidate_images(p.images.path, cands.source_index.to_numpy(), p.targets.transform)
        y = torch.from_numpy(cands.label.to_numpy())
        frames = []
        for arm in ARMS:
            for v in [RELEASED, *range(p.victims.n_victims)]:
                model, _ = classifier.load(arm_dir(arm) if v == RELEASED else victim_dir(arm, v))
                z = classifier.logits(model.to(s.device), x, p.score.batch_size, s.device)
                df = pd.DataFrame({k: t.double().numpy() for k, t in score_all(z, y).items()})
                df.insert(0, "candidate_id", cands.candidate_id.to_numpy())
                df.insert(0, "victim_id", v)
                df.insert(0, "arm", arm)
                frames.append(df)
        table = pd.concat(frames, ignore_index=True)
        table["victim_id"] = table.victim_id.astype("int64")
        table = table[["arm", "victim_id", "candidate_id", *IMAGE_SCORES]]
        write_table(table, s.out / "scores.parquet", "bd_image_scores", audit_id=s.audit_id)
        s.metrics["n_rows"] = len(table)


if __name__ == "__main__":
    main()
