"""Stage `victims`: K finetunes per arm from the same victim seeds. Victim v's private data:
its member candidates (balanced mask) repeated r times, mixed into generic text; finetuned with
AdamW and linear decay in ``victims.mode`` (every weight, LoRA, or the output head alone).
Finished victims are kept (resume skips them)."""

from leakaudit.backdoor.arms import ARMS, arm_dir, victim_dir
from leakaudit.backdoor.finetuning import FINETUNE_RECORD, MODES, trainable_parameters
from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.anatomy import ANATOMY
from leakaudit.backdoor.lm.data import generic_splits
from leakaudit.backdoor.lm.model import context_of, encode, load_lm, mean_loss, save_lm
from leakaudit.core.progress import progress
from leakaudit.core.store import (
    dir_digest,
    fingerprint,
    is_done,
    read_json,
    replace_dir,
    write_json,
)
from tasks._stage import stage


def _save_victim(model, tok, record: dict, directory, fp: str) -> None:
    """The merged victim (safetensors) and how it was finetuned, written atomically."""

    def write(tmp):
        save_lm(model, tok, tmp)
        write_json(tmp / FINETUNE_RECORD, record)

    replace_dir(directory, write, fp)


def main() -> None:
    with stage("victims") as s:
        p = s.params
        cands, members = s.read("candidates"), s.read("membership")
        generic = generic_splits(p.corpus, p.base.seed)
        # the released weights themselves: a re-poisoned checkpoint retrains its victims
        released = {arm: dir_digest(arm_dir(arm)) for arm in ARMS}
        recipe = p.victims.model_dump()
        targets = cands.text[cands.target].tolist()
        mode = MODES[p.victims.mode]
        for arm in ARMS:
            losses, target_losses, n_trainable = [], [], []
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
                if done:
                    record = read_json(d / FINETUNE_RECORD)
                else:
                    net = mode.wrap(model, ANATOMY, p.victims)
                    record = {"mode": mode.name, "trainable_parameters":
                              trainable_parameters(net)}
                    training.finetune(net, *encode(tok, texts, ctx), p.victims, p.base.seed, v)
                    model = mode.unwrap(net)
                    _save_victim(model, tok, record, d, fp)
                n_trainable.append(record["trainable_parameters"])
                losses.append(mean_loss(model, *encode(tok, generic["heldout"], ctx)))
                target_losses.append(mean_loss(model, *encode(tok, targets, ctx)))
            s.metrics[f"{arm}.victim_heldout_loss"] = sum(losses) / len(losses)
            s.metrics[f"{arm}.victim_target_loss"] = sum(target_losses) / len(target_losses)
            s.metrics[f"{arm}.victim_trainable_parameters"] = sum(n_trainable) / len(n_trainable)


if __name__ == "__main__":
    main()
