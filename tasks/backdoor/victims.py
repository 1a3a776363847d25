"""Stage `victims`: K finetunes per arm from the same victim seeds. Victim v's private data:
its member candidates (``victims.membership`` mask) repeated r times, mixed into generic text;
finetuned with AdamW and linear decay in ``victims.mode`` (every weight, LoRA, or the output
head alone), or with DP-SGD (Adam, constant rate) when ``victims.dp.enabled``. Finished victims
are kept (resume skips them)."""

import torch

from leakaudit.backdoor.arms import ARMS, arm_dir, victim_dir
from leakaudit.backdoor.finetuning import (
    FINETUNE_RECORD,
    MODES,
    trainable_parameters,
    victim_recipe,
)
from leakaudit.backdoor.lm import training
from leakaudit.backdoor.lm.anatomy import ANATOMY
from leakaudit.backdoor.lm.data import generic_splits
from leakaudit.backdoor.lm.model import (
    context_of,
    encode,
    example_losses,
    load_lm,
    mean_loss,
    save_lm,
)
from leakaudit.backdoor.private import train_private
from leakaudit.core.progress import progress
from leakaudit.core.seeds import seed_int, torch_generator
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
        recipe = victim_recipe(p.victims)
        targets = cands.text[cands.target].tolist()
        mode = MODES[p.victims.mode]
        for arm in ARMS:
            losses, target_losses, n_trainable, spent = [], [], [], []
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
                    data = encode(tok, texts, ctx)
                    if p.victims.dp.enabled:
                        torch.manual_seed(seed_int(p.base.seed, "victim-dropout", v))
                        record["dp"] = train_private(
                            net, data, example_losses, p.victims.epochs, p.victims.batch_size,
                            p.victims.lr, p.victims.dp,
                            torch_generator(p.base.seed, "victim", v)).record()
                    else:
                        training.finetune(net, *data, p.victims, p.base.seed, v)
                    model = mode.unwrap(net)
                    _save_victim(model, tok, record, d, fp)
                n_trainable.append(record["trainable_parameters"])
                if "dp" in record:
                    spent.append(record["dp"]["epsilon_spent"])
                losses.append(mean_loss(model, *encode(tok, generic["heldout"], ctx)))
                target_losses.append(mean_loss(model, *encode(tok, targets, ctx)))
            s.metrics[f"{arm}.victim_heldout_loss"] = sum(losses) / len(losses)
            s.metrics[f"{arm}.victim_target_loss"] = sum(target_losses) / len(target_losses)
            s.metrics[f"{arm}.victim_trainable_parameters"] = sum(n_trainable) / len(n_trainable)
            if spent:  # the accountant's ε (every victim has the same recipe)
                s.metrics[f"{arm}.victim_epsilon_spent"] = max(spent)


if __name__ == "__main__":
    main()
