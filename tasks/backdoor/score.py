"""Stage `score`: every candidate on every victim (and on each released checkpoint, for the
calibrated score): −loss, Min-K %, top-5-only probability, −loss under a logit watermark."""

import pandas as pd

from leakaudit.backdoor.lm import encode, load_lm, logits_for
from leakaudit.backdoor.scores import min_k, neg_loss, neg_loss_watermarked, top5_prob
from leakaudit.tables import read_table, write_table
from tasks.backdoor._common import ARMS, OUT, arm_dir, stage, victim_dir

RELEASED = -1  # victim_id of the released checkpoint's rows


def score_model(model, tok, texts: list[str], context: int, p) -> pd.DataFrame:
    """The four scores of every text under one model."""
    ids, att = encode(tok, texts, min(context, model.config.n_positions))
    cols: dict[str, list[float]] = {k: [] for k in ("neg_loss", "min_k", "top5", "watermark")}
    for rows, logits in logits_for(model, ids, att, p.score.batch_size):
        i, a = ids[rows], att[rows]
        cols["neg_loss"] += neg_loss(logits, i, a).tolist()
        cols["min_k"] += min_k(logits, i, a, p.score.min_k).tolist()
        cols["top5"] += top5_prob(logits, i, a).tolist()
        cols["watermark"] += neg_loss_watermarked(
            logits, i, a, p.score.watermark_delta, p.score.watermark_gamma, p.base.seed).tolist()
    return pd.DataFrame(cols)


def main() -> None:
    with stage("score", ("base", "lm", "victims", "score")) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_candidates")
        texts = cands.text.tolist()
        frames = []
        for arm in ARMS:
            for v in [RELEASED, *range(p.victims.n_victims)]:
                model, tok = load_lm(arm_dir(arm) if v == RELEASED else victim_dir(arm, v))
                df = score_model(model.to(s.device), tok, texts, p.lm.context, p)
                df.insert(0, "candidate_id", cands.candidate_id.to_numpy())
                df.insert(0, "victim_id", v)
                df.insert(0, "arm", arm)
                frames.append(df)
        table = pd.concat(frames, ignore_index=True)
        table["victim_id"] = table.victim_id.astype("int64")
        for c in ("neg_loss", "min_k", "top5", "watermark"):
            table[c] = table[c].astype("float64")
        write_table(table, s.out / "scores.parquet", "bd_scores", audit_id=s.audit_id)
        s.metrics["n_rows"] = len(table)


if __name__ == "__main__":
    main()
