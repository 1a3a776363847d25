"""Stage `score`: every candidate on every victim (and on each released checkpoint, for the
calibrated score), each served as ``score.quantise`` says: −loss, Min-K %, top-5-only
probability, −loss under a logit watermark."""

from leakaudit.backdoor.arms import score_every_model
from leakaudit.backdoor.lm.model import load_lm
from leakaudit.backdoor.lm.scores import score_texts
from leakaudit.backdoor.serving import quantise, record_serving
from tasks._stage import stage


def main() -> None:
    with stage("score") as s:
        p = s.params
        cands = s.read("candidates")
        texts = cands.text.tolist()

        served: list[list[str]] = []

        def score(directory):
            model, tok = load_lm(directory)
            served.append(quantise(model, p.score.quantise))
            return score_texts(model.to(s.device), tok, texts, p.lm.context, p)

        table = score_every_model(p.victims.n_victims, cands.candidate_id.to_numpy(), score)
        s.write("scores", table)
        s.metrics["n_rows"] = len(table)
        s.metrics |= record_serving(p.score.quantise, served, s.path("serving"))


if __name__ == "__main__":
    main()
