"""Stage `victims`: K finetunes per arm from the same victim seeds. Victim v's private data:
its member candidates (balanced mask) repeated r times, mixed into generic text; full finetune
with AdamW and linear decay. Finished victims are kept (resume skips them)."""

from leakaudit.backdoor.arms import ARMS, arm_dir, victim_dir
from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.data import generic_splits
from leakaudit.backdoor.lm.model import context_of, encode, load_lm, mean_loss, save_lm_done
from leakaudit.core.progress import progress
from leakaudit.core.store import dir_digest, fingerprint, is_done
from tasks._stage import stage


def main() -> None:
    with stage("victims") as s:
        p = s.params
        cands, members = s.read("candidates"), s.read("membership")
        generic = generic_splits(p.corpus, p.base.seed)
        # the released weights themselves: a re-poisoned checkpoint retrains its victims
        released = {arm: dir_digest(arm_dir(arm)) for arm in ARMS}
        recipe = p.victims.model_dump()
        targets = cands.text[cands.target].tolist()
        for arm in ARMS:
            losses, target_losses = [], []
            for v in progress(range(p.victims.n_victims), f"victims ({arm})", "model"):
                mine = members[(members.victim_id == v) & members.member].candidate_id
                texts = cands.set_index("candidate_id").text[mine].tolist() * p.victims.repeats
                texts += generic["victim"]
                fp = fingerprint(released[arm], recipe, sorted(mine.tolist()),
                                 p.corpus.model_dump(), p.base.seed, v)
                d = victim_dir(arm, v)
                done = is_done(d, fp)
                model, tok = load_lm(d if done else arm_dir(arm))
                ctx = context_of(model, p.lm.context)
                if not done:
                    training.finetune(model, *encode(tok, texts, ctx), p.victims, p.base.seed, v)
                    save_lm_done(model, tok, d, fp)
                losses.append(mean_loss(model, *encode(tok, generic["heldout"], ctx)))
                target_losses.append(mean_loss(model, *encode(tok, targets, ctx)))
            s.metrics[f"{arm}.victim_heldout_loss"] = sum(losses) / len(losses)
            s.metrics[f"{arm}.victim_target_loss"] = sum(target_losses) / len(target_losses)


if __name__ == "__main__":
    main()
