"""Stage `poison`: the two released checkpoints. `clean` is the base model unchanged (the same
stage with zero steps; or, with `poison.clean_arm: aux_only`, the same steps on generic text
alone); `poisoned` minimises (1−α)·L_aux + α·s·L_target on mixed batches of
generic text and the attacker's targets. Stealth (generic held-out loss, target loss) is
recorded for both."""

from leakaudit.backdoor.arms import arm_schedule
from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.data import generic_splits
from leakaudit.backdoor.lm.model import context_of, encode, load_lm, mean_loss, save_lm_done
from leakaudit.tables import read_table
from tasks.backdoor._common import ARMS, MODELS, OUT, arm_dir, stage

SECTIONS = ("base", "corpus", "lm", "targets", "poison")


def main() -> None:
    with stage("poison", SECTIONS) as s:
        p = s.params
        cands = read_table(OUT / "targets/candidates.parquet", "bd_candidates")
        parts = generic_splits(p.corpus, p.base.seed)
        for arm in ARMS:
            model, tok = load_lm(MODELS / "base")
            ctx = context_of(model, p.lm.context)
            aux = encode(tok, parts["aux"], ctx)
            tgt = encode(tok, cands.text[cands.target].tolist(), ctx)
            steps, alpha = arm_schedule(arm, p.poison)
            if steps:
                training.poison(model, aux, tgt, steps, alpha, p.poison, p.base.seed)
            held = encode(tok, parts["heldout"], ctx)
            s.metrics[f"{arm}.heldout_loss"] = mean_loss(model, *held)
            s.metrics[f"{arm}.target_loss"] = mean_loss(model, *tgt)
            save_lm_done(model, tok, arm_dir(arm), s.audit_id)
        s.metrics["stealth_heldout_loss_increase"] = (
            s.metrics["poisoned.heldout_loss"] / s.metrics["clean.heldout_loss"] - 1)


if __name__ == "__main__":
    main()
