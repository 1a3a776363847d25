"""Stage `poison`: the two released checkpoints and the stealth controls
(:mod:`leakaudit.backdoor.arms`). `poisoned` minimises (1−α)·L_aux + α·s·L_target on mixed
batches of generic text and the attacker's targets; the clean arm is the base model, the
aux-only run or the same poisoning of fresh non-candidate PII (decoys). Generic held-out loss
and target loss are recorded for every checkpoint trained."""

from leakaudit.backdoor.arms import arm_dir, release_checkpoints, schedule
from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.data import candidate_pool, generic_splits
from leakaudit.backdoor.lm.model import context_of, encode, load_lm, mean_loss, save_lm_done
from tasks._stage import stage

MEASURED = ("heldout_loss",)


def main() -> None:
    with stage("poison") as s:
        p = s.params
        cands = s.read("candidates")
        parts = generic_splits(p.corpus, p.base.seed)
        decoys = candidate_pool(p.targets.n_targets + len(cands), p.base.seed,
                                p.targets.locale, "decoys")
        decoys = decoys[~decoys.text.isin(cands.text)].head(p.targets.n_targets)  # no candidate

        def train_kind(kind: str):
            model, tok = load_lm(s.path("base_model"))
            ctx = context_of(model, p.lm.context)
            aux, held = encode(tok, parts["aux"], ctx), encode(tok, parts["heldout"], ctx)
            tgt = encode(tok, cands.text[cands.target].tolist(), ctx)
            steps, alpha, what = schedule(kind, p.poison)
            if steps:
                data = encode(tok, decoys.text.tolist(), ctx) if what == "decoys" else tgt
                training.poison(model, aux, data, steps, alpha, p.poison, p.base.seed)
            return (model, tok), {"heldout_loss": mean_loss(model, *held),
                                  "target_loss": mean_loss(model, *tgt)}

        s.metrics |= release_checkpoints(
            p.poison, train_kind,
            lambda m, arm: save_lm_done(*m, arm_dir(arm), s.audit_id), MEASURED)


if __name__ == "__main__":
    main()
